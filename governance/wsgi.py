"""The WSGI entry point for production: ``gunicorn -w 4 -b 0.0.0.0:8420 'governance.wsgi:app'``.

Settings come from the environment (see the README); workers run separately
(``slate worker``) against Redis.
"""

from governance.app import create_app, warm_up

# each gunicorn worker imports this module once it has forked: it starts ready
app = warm_up(create_app())
