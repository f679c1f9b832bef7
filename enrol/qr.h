/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * qr.h -- draw a QR code as SVG with libqrencode.
 */
#ifndef GUICHET_ENROL_QR_H
#define GUICHET_ENROL_QR_H

/**
 * Encode @a text (byte mode, error correction M) as a standalone SVG with a
 * 4-module quiet zone.  @return malloc'd SVG text, or NULL.  The text may
 * be a secret (it is cleansed from libqrencode's buffers).
 */
char *
enrol_qr_svg (const char *text);

#endif
