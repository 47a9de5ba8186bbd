/*
 * fixture_proto: the request and error buffer of proto's unit tests (see
 * fixture_proto.h), linked into every test_proto_* executable but test_proto_record.
 */
#include "fixture_proto.h"

struct proto_request fixture_req;
char fixture_err[256];

int fixture_proto_setup(void **state)
{
    (void)state;
    proto_request_init(&fixture_req);
    return 0;
}

int fixture_proto_teardown(void **state)
{
    (void)state;
    proto_request_free(&fixture_req);
    return 0;
}
