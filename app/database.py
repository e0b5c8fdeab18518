"""The database session every part of the application shares (Flask-AppBuilder's SQLA).

Its own module, so that the rules reach the session without importing the application
package, which wires up the screens and the API."""

from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA

# Objects keep their values after a commit: the change log then knows the old value of a
# field changed after an earlier commit in the same unit of work (jobs, commands).
db = SQLA(model_class=Model, session_options={"expire_on_commit": False})
