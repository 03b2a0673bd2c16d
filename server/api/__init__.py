"""The JSON API under /api: read (enrolment, premises, stations), sync (push, pull), blobs
(attachment files) and the OpenAPI document built from their routes and msgspec types.
`routes` is the whole table, mounted at /api by server/app.py.
"""

from server.api import blobs, openapi, read, sync

routes = read.routes + sync.routes + blobs.routes + openapi.routes
