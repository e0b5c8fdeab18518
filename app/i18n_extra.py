"""Flask-AppBuilder strings that our own message catalogue translates.

Flask-Babel loads Flask-AppBuilder's catalogue first and ours over it (config.py,
BABEL_TRANSLATION_DIRECTORIES), so an entry in app/translations/*/messages.po completes or
overrides FAB's. FAB 5.3's Russian catalogue lacks many strings its templates and views
show ("Add", "Edit", "Delete", "Order by", "Detail"...), marks some fuzzy (so they are not
compiled) and translates others wrongly or awkwardly ("Added Row" -> "Добавлено строк").

This module only lists those msgids, so that `pybabel extract` puts them into
app/translations/messages.pot and `pybabel update` keeps them in the catalogues. Nothing
imports it at run time. tests/test_translations.py checks that FAB's catalogue and ours
together translate every string FAB's sources mark for translation; when an upgrade of
FAB adds a string its Russian catalogue lacks, add it here and translate it.
"""

from flask_babel import lazy_gettext as _l

# Missing, empty or fuzzy in FAB 5.3's Russian catalogue.
FAB_MISSING = (
    _l("Add"),
    _l("Edit"),
    _l("Show"),
    _l("Delete"),
    _l("Detail"),
    _l("Order by"),
    _l("Are you sure you want to delete this item?"),
    _l("Database Error"),
    _l("Not a valid choice"),
    _l("Select Value"),
    _l("Contains (insensitive)"),
    _l("Start with"),
    _l("In"),
    _l("Not In"),
    _l("Must have at least two capital letters, one special character, two digits, "
       "three lower case letters and a minimal length of 10."),
    _l("Either select a role or a group"),
    _l("Groups"),
    _l("List Groups"),
    _l("Show Group"),
    _l("Add Group"),
    _l("Edit Group"),
    _l("User(s) exists in the group, cannot delete"),
    _l("User(s) exists in the role, cannot delete"),
    _l("Edit User Information"),
    _l("User information changed"),
    _l("The user's password for authentication"),
    _l("The user group on the application, this will associate with a list of roles "
       "associated with the group"),
    _l("Sign In with "),
    _l("Sign in using:"),
)

# Translated wrongly, with typos or awkwardly in FAB's catalogue: ours overrides them.
FAB_OVERRIDDEN = (
    _l("Added Row"),
    _l("Changed Row"),
    _l("Deleted Row"),
    _l("Associated data exists, please delete them first"),
    _l("Integrity error, probably unique constraint"),
    _l("Invalid login. Please try again."),
    _l("Record Count"),
    _l("Page size"),
    _l("Add a new record"),
    _l("Show record"),
    _l("Edit record"),
    _l("Delete record"),
    _l("Profile"),
    _l("Your user information"),
    _l("Username"),
    _l("Email"),
    _l("Full Name"),
    _l("Name"),
    _l("Created on"),
    _l("Changed on"),
    _l("Failed login count"),
    _l("Write the user first name or names"),
    _l("Write the user last name"),
    _l("Please use a good password policy, this application does not check this for you"),
    _l("Please rewrite the password to confirm"),
    _l("The user's email, this will also be used for OID auth"),
    _l("The user role on the application, this will associate with a list of permissions"),
    _l("User info"),
    _l("Personal Info"),
    _l("Audit Info"),
    _l("List Users"),
    _l("Show User"),
    _l("Add User"),
    _l("Edit User"),
    _l("List Roles"),
    _l("Show Role"),
    _l("Edit Role"),
    _l("Copy Role"),
    _l("Copy the selected roles?"),
    _l("Reset Password"),
    _l("Reset my password"),
    _l("Reset Password Form"),
    _l("User's Statistics"),
    _l("User Statistics"),
    _l("Base Permissions"),
    _l("List Base Permissions"),
    _l("Show Base Permission"),
    _l("Add Base Permission"),
    _l("Edit Base Permission"),
    _l("Views/Menus"),
    _l("List View Menus"),
    _l("Show View Menu"),
    _l("Add View Menu"),
    _l("Edit View Menu"),
    _l("Permission on Views/Menus"),
    _l("List Permissions on Views/Menus"),
    _l("Show Permission on Views/Menus"),
    _l("Add Permission on Views/Menus"),
    _l("Edit Permission on Views/Menus"),
    _l("Permission"),
    _l("View/Menu"),
    _l("User Registrations"),
    _l("List of Registration Requests"),
    _l("Show Registration"),
    _l("Account activation"),
    _l("Registration sent to your email"),
    _l("Not possible to register you at the moment, try again later"),
    _l("Registration not found"),
    _l("Your user is activated you can now proceed to login"),
    _l("If you are not already a user, please register"),
    _l("User confirmation needed"),
    _l("Group by fields"),
    _l("Count of"),
    _l("Avg. of"),
    _l("Ends with"),
    _l("Relation"),
    _l("No Relation"),
    _l("Relation as Many"),
)

# Translated acceptably by FAB, pinned here so the CRM's wording stays the same whatever
# FAB's catalogue says after an upgrade.
FAB_PINNED = (
    _l("Search"),
    _l("Add Filter"),
    _l("No records found"),
    _l("Back"),
    _l("Save"),
    _l("Actions"),
    _l("Login"),
    _l("Logout"),
    _l("Sign In"),
    _l("Security"),
    _l("Access is Denied"),
    _l("Starts with"),
    _l("Not Starts with"),
    _l("Not Ends with"),
    _l("Contains"),
    _l("Not Contains"),
    _l("Equal to"),
    _l("Not Equal to"),
    _l("Greater than"),
    _l("Smaller than"),
)

# Not passed to gettext by FAB 5.3: confirm.html and alert.html hard-code "Cancel" and
# "OK". Translated here for templates that override FAB's and for the app's own screens.
GENERIC = (
    _l("Cancel"),
    _l("OK"),
    _l("Please confirm"),
    _l("Refresh"),
    _l("Users"),
    _l("Roles"),
    _l("Statistics"),
)

# Marked in the app's own sources where `pybabel extract` cannot see them: on Python 3.11
# a call inside an f-string is part of one string token. tests/test_translations.py finds
# such calls with the ast module. Better: move the call out of the f-string, then drop the
# line here.
APP_UNEXTRACTED = (
    _l("Start typing to search"),  # app/screens/lookup.py, LookupWidget
)
