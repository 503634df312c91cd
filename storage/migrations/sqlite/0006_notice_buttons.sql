-- A notice's buttons (e.g. the rating after a ticket is closed, issue 8) in a column of their own (issue 16.3):
-- JSON rows of buttons, [[{"label": ..., "action": ..., "arg": ...} or {"label": ..., "url": ...}, ...], ...].
-- Before, they were kept inside `body` as a marker (the record separator, then "reply:") and JSON
-- {"text": ..., "buttons": [[[label, action, arg-or-url], ...], ...]} (an empty action: a link button).
ALTER TABLE broadcasts ADD COLUMN buttons TEXT;

UPDATE broadcasts
SET buttons = (
        SELECT json_group_array(
            (SELECT json_group_array(CASE WHEN json_extract(b.value, '$[1]') = ''
                                          THEN json_object('label', json_extract(b.value, '$[0]'),
                                                           'url', json_extract(b.value, '$[2]'))
                                          ELSE json_object('label', json_extract(b.value, '$[0]'),
                                                           'action', json_extract(b.value, '$[1]'),
                                                           'arg', json_extract(b.value, '$[2]')) END)
             FROM json_each(r.value) AS b))
        FROM json_each(substr(broadcasts.body, 8), '$.buttons') AS r),
    body = json_extract(substr(body, 8), '$.text')
WHERE kind = 'notice' AND substr(body, 1, 7) = char(30) || 'reply:';
