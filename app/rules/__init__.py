"""The lowest layer: rules and validators in plain Python, with no Flask and no database
session (INN, OGRN, KPP, bank details, phone and name normalisation). The schema, the
services and the screens build on it; it builds on nothing of the application."""
