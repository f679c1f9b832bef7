// SPDX-License-Identifier: AGPL-3.0-or-later
//
// camera.mjs -- a phone camera for the Guichet app's browser test:
// Chromium's fake capture device reads a Y4M video file, and this module
// writes that file from a picture (a screenshot of a QR code) with
// Debian's ffmpeg.  Chromium opens the file each time a page starts the
// camera, so showing another picture is writing the same file again
// before the app scans.  Files live in tests/artifacts/e2e/ (ignored).

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

import { ARTIFACTS } from "./browser.mjs";

const run = promisify(execFile);

export const CAMERA_FILE = join(ARTIFACTS, "camera.y4m");

// The flags of a browser whose camera films CAMERA_FILE, granted without
// asking.
export const CAMERA_ARGS = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            `--use-file-for-fake-video-capture=${CAMERA_FILE}`];

// Films png from now on: the picture scaled up to 420 px (nearest
// neighbour keeps the modules sharp) on a white 640x480 frame, a few
// frames of 4:2:0 Y4M that Chromium plays in a loop.
export async function film (png) {
  await run("ffmpeg", ["-y", "-loglevel", "error", "-loop", "1", "-i", png, "-vf",
    "scale=420:420:force_original_aspect_ratio=decrease:flags=neighbor,"
    + "pad=640:480:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p",
    "-frames:v", "5", "-r", "5", "-f", "yuv4mpegpipe", CAMERA_FILE], { timeout: 30000 });
}

// A white picture: what the camera films before a test shows it anything.
export async function filmNothing () {
  await run("ffmpeg", ["-y", "-loglevel", "error", "-f", "lavfi", "-i", "color=white:s=640x480",
    "-frames:v", "1", "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", CAMERA_FILE], { timeout: 30000 });
}

// An SVG (a QR code from the API) as a PNG a camera can film.
export async function svgToPng (svgPath, pngPath) {
  await run("rsvg-convert", ["-w", "420", "-b", "white", "-o", pngPath, svgPath], { timeout: 30000 });
  return pngPath;
}
