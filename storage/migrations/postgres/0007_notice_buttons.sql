-- A notice's buttons (e.g. the rating after a ticket is closed, issue 8) in a column of their own (issue 16.3):
-- JSON rows of buttons, [[{"label": ..., "action": ..., "arg": ...} or {"label": ..., "url": ...}, ...], ...].
-- Before, they were kept inside `body` as a marker (the record separator, then "reply:") and JSON
-- {"text": ..., "buttons": [[[label, action, arg-or-url], ...], ...]} (an empty action: a link button).
ALTER TABLE broadcasts ADD COLUMN buttons text;

UPDATE broadcasts
SET buttons = (
        SELECT jsonb_agg(
            (SELECT jsonb_agg(CASE WHEN b.button ->> 1 = ''
                                   THEN jsonb_build_object('label', b.button ->> 0, 'url', b.button ->> 2)
                                   ELSE jsonb_build_object('label', b.button ->> 0, 'action', b.button ->> 1,
                                                           'arg', b.button ->> 2) END ORDER BY b.n)
             FROM jsonb_array_elements(r.buttons) WITH ORDINALITY AS b(button, n)) ORDER BY r.n)
        FROM jsonb_array_elements(substr(broadcasts.body, 8)::jsonb -> 'buttons') WITH ORDINALITY AS r(buttons, n)
    )::text,
    body = substr(body, 8)::jsonb ->> 'text'
WHERE kind = 'notice' AND left(body, 7) = chr(30) || 'reply:';
