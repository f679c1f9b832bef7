/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * json.h -- parsing request bodies with field tables (jansson).
 *
 * A handler declares the fields it expects in a table; core_json_parse()
 * checks types, lengths and presence, refuses unknown fields, and reports
 * the first bad field by name so the client gets a 400 that says what is
 * wrong.  Strings are borrowed from the json_t tree: copy what must outlive
 * it.  Bodies are parsed with JSON_REJECT_DUPLICATES, and NUL bytes inside
 * strings are refused.
 */
#ifndef GUICHET_CORE_JSON_H
#define GUICHET_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/error.h"

enum core_json_type {
  CORE_JSON_STRING,   /* out: const char **; max_len bytes (0 = 1024) */
  CORE_JSON_INT,      /* out: int64_t *; min/max inclusive */
  CORE_JSON_BOOL,     /* out: bool * */
  CORE_JSON_OBJECT,   /* out: json_t ** (borrowed) */
  CORE_JSON_ARRAY,    /* out: json_t ** (borrowed) */
  CORE_JSON_END       /* terminates a table */
};

struct core_json_field {
  const char *name;
  enum core_json_type type;
  bool optional;        /* missing (or null) optional fields leave *out
                           untouched */
  size_t max_len;       /* strings: max bytes (0 = 1024) */
  int64_t min, max;     /* ints: bounds (both 0 = no bounds) */
  void *out;
  bool *present;        /* optional: set to whether the field was given */
};

#define CORE_JSON_FIELD_END { .name = NULL, .type = CORE_JSON_END }

/**
 * Parse @a len bytes of @a body as one JSON object.
 * @param[out] root  the tree on success (caller json_decref()s), else NULL
 * @param[out] why   a short message on failure (static or thread-local)
 * @return CORE_OK or CORE_ERR_MALFORMED_JSON
 */
enum core_err
core_json_load (const char *body, size_t len, json_t **root, const char **why);

/**
 * Check @a obj against @a fields.
 * @param[out] bad_field  name of the offending field on failure (borrowed
 *             from @a fields or @a obj), NULL on success
 * @return CORE_OK, or CORE_ERR_INVALID_FIELD if a field is missing, unknown,
 *         of the wrong type, too long, out of bounds, or @a obj is not an
 *         object (bad_field then "body")
 */
enum core_err
core_json_parse (json_t *obj, const struct core_json_field *fields,
                 const char **bad_field);

/** Serialize compactly; @return a malloc'd string (caller frees) or NULL. */
char *
core_json_dump (const json_t *v);

#endif
