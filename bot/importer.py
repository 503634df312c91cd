"""placeholder: CSV import (written next)."""
