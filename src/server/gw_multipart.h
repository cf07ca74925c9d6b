/* gw_multipart.h — a multipart/form-data body of an image request read into the JSON object the gateway takes. */
#ifndef SY_SERVER_GW_MULTIPART_H
#define SY_SERVER_GW_MULTIPART_H

#include <jansson.h>

#include "server/http.h"

/* 1 when the request's Content-Type is multipart/form-data (case-insensitive), else 0. */
int sy__gw_multipart(sy_req *r);

/* Reads the buffered body (r->body, r->body_len) of a multipart/form-data request into the
 * JSON object a JSON client would have sent, as OpenAI's clients send /v1/images/edits:
 * text fields become string fields (n, output_compression and partial_images integers when
 * they are all digits, stream a boolean when it is true or false); the files image, image[]
 * (repeated: an array) and mask become data URLs (data:TYPE;base64,...). At most 16 images,
 * 64 fields, field names of 64 bytes, text fields of 32 KiB, files of 20 MiB in all.
 * Returns 0 with *out a new reference the caller owns, or -1 with *out NULL having replied
 * 400 naming what is wrong (503 when out of memory). The body is borrowed, not kept. */
int sy__gw_multipart_json(sy_req *r, json_t **out);

#endif
