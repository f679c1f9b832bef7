/* SPDX-License-Identifier: AGPL-3.0-or-later
 *
 * sanctions_holder.h -- internal to enrol/: the sanctions list in force.
 * enrol_identity_screen() (declared in identity.h) is defined here.
 */
#ifndef GUICHET_ENROL_SANCTIONS_HOLDER_H
#define GUICHET_ENROL_SANCTIONS_HOLDER_H

#include "enrol/identity.h"
#include "enrol/sanctions.h"

#endif
