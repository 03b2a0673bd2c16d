"""The JSON API under /api: read (enrolment, premises, stations), sync (push, pull), blobs
(attachment files), coverage and compliance (reporting), partnerfeed (a share's feed for partner systems) and the OpenAPI document built from their routes and msgspec types.
`routes` is the whole table, mounted at /api by server/app.py.
"""

from server.api import blobs, compliance, coverage, openapi, partnerfeed, read, sync

routes = (read.routes + sync.routes + blobs.routes + coverage.routes + compliance.routes
          + partnerfeed.routes + openapi.routes)
