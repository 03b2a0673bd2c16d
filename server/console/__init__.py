"""The console: server-rendered pages for supervisors and admins under /console.
`routes` (from routes.py) is the table mounted by server/app.py.
"""

from server.console.routes import routes

__all__ = ["routes"]
