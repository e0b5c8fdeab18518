#!/bin/sh
# Update the message catalogues: extract -> update -> fill English -> compile.
#
#   app/translations/update.sh
#
# Then translate every Russian entry the script lists (app/translations/ru/LC_MESSAGES/
# messages.po, no "#, fuzzy", placeholders such as %(count)s kept) and run it again, so
# the committed .mo files match the .po files. tests/test_translations.py checks all that.
set -eu
cd "$(dirname "$0")/../.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
PYTHON="${PYTHON:-.venv/bin/python}"

"$PYBABEL" extract -F babel.cfg -o app/translations/messages.pot \
    --no-wrap --sort-by-file --add-location=file \
    --project="Voronka CRM" --copyright-holder="Voronka CRM" .
for lang in ru en; do
    [ -f "app/translations/$lang/LC_MESSAGES/messages.po" ] || "$PYBABEL" init \
        -i app/translations/messages.pot -d app/translations -l "$lang" --no-wrap
done
"$PYBABEL" update -i app/translations/messages.pot -d app/translations \
    --no-wrap --no-fuzzy-matching --ignore-obsolete

# English is the source language: msgstr = msgid, so the catalogue is complete.
"$PYTHON" - <<'PY'
from babel.messages.pofile import read_po, write_po

path = "app/translations/en/LC_MESSAGES/messages.po"
with open(path, "rb") as f:
    catalog = read_po(f, locale="en")
for message in catalog:
    if not message.id:
        continue
    if isinstance(message.id, (list, tuple)):
        if not all(message.string):
            message.string = tuple(message.id)
    elif not message.string:
        message.string = message.id
    message.flags.discard("fuzzy")
with open(path, "wb") as f:
    write_po(f, catalog, width=None)

with open("app/translations/ru/LC_MESSAGES/messages.po", "rb") as f:
    ru = read_po(f, locale="ru")
todo = [m.id for m in ru if m.id and (m.fuzzy or not all(
    m.string if isinstance(m.string, (list, tuple)) else [m.string]))]
if todo:
    print(f"{len(todo)} Russian entries to translate:")
    for msgid in todo:
        print("   ", msgid)
PY

"$PYBABEL" compile -d app/translations --statistics
