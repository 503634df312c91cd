"""Understanding what applicants type: text in, intent + slots + confidence out (issue 13). Platform-free.

`shipped()` is the understanding of the data files in `data/` (per language: vocabulary, synonyms, example
phrasings; and the FAQ), validated on load. handlers/freetext.py turns an Interpretation into the answer.
"""

from handlers.understanding.engine import Interpretation, Understanding, Verdict, load, load_languages, shipped
from handlers.understanding.faq import FaqBook, FaqEntry, FaqSource, ShippedFaq, load_faq, shipped_faq
from handlers.understanding.files import DataError
from handlers.understanding.models import FAQ_PREFIX, Intent

__all__ = [
    "FAQ_PREFIX",
    "DataError",
    "FaqBook",
    "FaqEntry",
    "FaqSource",
    "Intent",
    "Interpretation",
    "ShippedFaq",
    "Understanding",
    "Verdict",
    "load",
    "load_faq",
    "load_languages",
    "shipped",
    "shipped_faq",
]
