/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * qr.c -- QR codes as SVG (libqrencode).
 *
 * One <path> of unit squares on a white background, 4 modules of quiet
 * zone, error correction M (ISO 18004: ~15% damage), so phone cameras and
 * zbarimg read it from a screen.  The payload can be an activation secret:
 * the module matrix is cleansed before it is freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <qrencode.h>

#include "enrol/qr.h"

#define QUIET 4

char *
enrol_qr_svg (const char *text)
{
  QRcode *qr = QRcode_encodeString8bit (text, 0, QR_ECLEVEL_M);
  char *buf = NULL;
  size_t len = 0;
  FILE *f;
  int n;

  if (NULL == qr)
    return NULL;
  n = qr->width + 2 * QUIET;
  f = open_memstream (&buf, &len);
  if (NULL != f)
  {
    fprintf (f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
             "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">"
             "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path d=\"",
             n, n, n * 8, n * 8, n, n);
    for (int y = 0; y < qr->width; y++)
      for (int x = 0; x < qr->width; x++)
        if (qr->data[y * qr->width + x] & 1)
          fprintf (f, "M%d %dh1v1h-1z", x + QUIET, y + QUIET);
    fputs ("\" fill=\"#000\"/></svg>\n", f);
    fclose (f);
  }
  OPENSSL_cleanse (qr->data, (size_t) qr->width * (size_t) qr->width);
  QRcode_free (qr);
  return buf;
}
