"""The screens, by part of the product: the CRM's records (crm.py), settings (settings.py),
the start page (home.py), users and roles (users.py), the rights matrix (rights.py), and
what they share: the screen built from an entity's declaration (base.py), look-ups of
large tables (lookup.py) and the change history in words (history.py). They are
registered in app/views.py."""
