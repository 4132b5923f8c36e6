"""A real RTSP camera for the tests: GStreamer's RTSP server serving an H.264 MP4 clip.

Run with the system Python (/usr/bin/python3), which has PyGObject (Debian `python3-gi`) and
the GStreamer introspection data; the project's venv has neither. `make system-deps` installs
the Debian packages. The clip is sent as is (no re-encoding: qtdemux → h264parse →
rtph264pay), paced in real time like a camera. Each client gets its own pipeline, from the
clip's first frame; make the clip long enough for the test (`ffmpeg -stream_loop` remuxes a
short clip into a long one without encoding).

Usage: /usr/bin/python3 rtsp_server.py --clip CLIP.mp4 --port PORT [--path /cam]
       /usr/bin/python3 rtsp_server.py --check   (exit 0 when every element is there)

Prints `ready rtsp://127.0.0.1:PORT/cam` on stdout once it listens; stops on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys

FIX = "run `make system-deps` (as root)"
try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as exc:  # no python3-gi, or no typelib for a namespace
    print(f"{exc} (needs python3-gi and gir1.2-gst-rtsp-server-1.0): {FIX}", file=sys.stderr)
    sys.exit(2)

# filesrc: core; qtdemux, rtph264pay, udpsink: plugins-good; h264parse: plugins-bad.
ELEMENTS = ("filesrc", "qtdemux", "h264parse", "rtph264pay", "udpsink")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check the elements exist")
    ap.add_argument("--clip", help="an MP4 file with one H.264 video track")
    ap.add_argument("--port", type=int)
    ap.add_argument("--path", default="/cam")
    args = ap.parse_args()
    Gst.init(None)
    missing = [name for name in ELEMENTS if Gst.ElementFactory.find(name) is None]
    if missing:
        print(f"missing GStreamer elements {missing} (gstreamer1.0-plugins-good and -bad): "
              f"{FIX}", file=sys.stderr)
        return 2
    if args.check:
        return 0
    if args.clip is None or args.port is None:
        ap.error("--clip and --port are required")
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    clip = args.clip.replace("\\", "\\\\").replace('"', '\\"')
    factory.set_launch(f'( filesrc location="{clip}" ! qtdemux ! h264parse '
                       "! rtph264pay name=pay0 pt=96 config-interval=1 )")
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{args.port}", file=sys.stderr)
        return 1
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print(f"ready rtsp://127.0.0.1:{args.port}{args.path}", flush=True)
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
