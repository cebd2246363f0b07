/* The API's own description, served at GET /proxy/v1/openapi.json: the
 * bytes of docs/openapi.yaml converted to compact JSON at build time by
 * tools/openapi-embed (generated broker/openapi_json.c), so the document
 * served is the one in the tree and the broker parses no YAML. */
#ifndef AIRLOCK_BROKER_OPENAPI_H
#define AIRLOCK_BROKER_OPENAPI_H

#include <stddef.h>

extern const unsigned char broker_openapi_json[];
extern const size_t broker_openapi_json_len;

#endif
