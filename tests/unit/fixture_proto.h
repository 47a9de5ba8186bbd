/*
 * fixture_proto: the parsed request and error buffer that proto's unit tests
 * (test_proto_*) share, made and freed once per group of tests.
 */
#ifndef WM_FIXTURE_PROTO_H
#define WM_FIXTURE_PROTO_H

#include "proto.h"

/* The request the tests parse into; valid between fixture_proto_setup and _teardown. */
extern struct proto_request fixture_req;
/* Where the tests' calls put their error messages. */
extern char fixture_err[256];

/* cmocka group setup: initialises fixture_req. state is unused. Returns 0. */
int fixture_proto_setup(void **state);

/* cmocka group teardown: frees what fixture_req holds. state is unused. Returns 0. */
int fixture_proto_teardown(void **state);

#endif
