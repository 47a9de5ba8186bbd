/*
 * proto/record.h: the on-disk form of events, retractions and registry entries
 * (record.c), msgpack maps with a format version. Only storage (and the tests of the
 * format) include it: the wire and the client never see msgpack.
 */
#ifndef WM_RECORD_H
#define WM_RECORD_H

#include <stddef.h>

#include <msgpack.h>

#include "proto.h"

#define PROTO_RECORD_VERSION 1

enum proto_record_kind {
    PROTO_RECORD_EVENT = 1,
    PROTO_RECORD_RETRACT = 2,
    PROTO_RECORD_PROJECT = 3 /* a registry record (project or program) */
};

/* Encode an event as a msgpack map {"v":1,"k":"event","seq",...} appended to sb (the
 * caller owns sb and clears it first). Returns WM_OK, WM_ENOMEM, or WM_EINTERNAL (an
 * unknown type or enum value: the event was not validated). */
int proto_event_encode(const struct wm_event *ev, msgpack_sbuffer *sb);
/* Encode a retraction likewise ("k":"retract"). Returns WM_OK or WM_ENOMEM. */
int proto_retract_encode(const struct wm_retract *rt, msgpack_sbuffer *sb);
/* The kind of the stored record data[0..len) (borrowed for the call): a
 * PROTO_RECORD_* value, or WM_EVERSION (unknown format version or kind), WM_EINTERNAL
 * (not a record) or WM_ENOMEM. */
int proto_record_kind(const void *data, size_t len);
/* Decode an event record into *ev (every field set; nothing of data is kept). Returns
 * WM_OK, WM_EVERSION (unknown version or not an event), WM_EINTERNAL (malformed) or
 * WM_ENOMEM. */
int proto_event_decode(const void *data, size_t len, struct wm_event *ev);
/* Decode a retraction record into *rt. Same returns as proto_event_decode. */
int proto_retract_decode(const void *data, size_t len, struct wm_retract *rt);
/* Encode a registry record (project or program; set_mask is not stored) appended to
 * sb. Returns WM_OK, WM_ENOMEM or WM_EINTERNAL (a scope out of range). */
int proto_project_encode(const struct wm_project *p, msgpack_sbuffer *sb);
/* Decode a registry record into *p. Same returns as proto_event_decode. */
int proto_project_decode(const void *data, size_t len, struct wm_project *p);

#endif /* WM_RECORD_H */
