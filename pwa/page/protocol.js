// The sync protocol version this client speaks (docs/sync-protocol.md; the server's range is
// sync/protocol.py's), sent on every API call and in every push. Constants only.

export const PROTOCOL = 1;
export const PROTOCOL_HEADER = 'Watchbook-Protocol';
