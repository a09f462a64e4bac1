// Patches the libpcap binding (`cap` 0.2.x) so that a socket error does not abort the process,
// and rebuilds it. Stock cap asserts `status == 0` in its libuv poll callback; the kernel sets
// a socket error (ENETDOWN) on every packet socket bound to an interface that goes down or is
// deleted, libuv reports it there, and the process aborts (mscdex/cap#82, open since 2019).
// Nothing outside the binding can prevent it: the error is raised by the kernel and delivered
// by libuv before any JavaScript runs (docs/datapath.md, "libpcap and interface events"). The
// patch emits "pollerror" with the socket's SO_ERROR instead; PcapIo closes the handle and
// the port reopens it when the interface is up again.
// Run by the root package's install script after npm has built cap, and by scripts/setup.sh;
// idempotent. Writes build/Release/ofswitch.json, which PcapIo checks (pcap-io.ts).
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { nodeGypRebuild } from "../node-gyp.mjs";

const PATCH_ID = "ofswitch-pollerror-1";

const EDITS = [
  {
    anchor: "#include <string.h>\n",
    insert: `#include <string.h>
#ifndef _WIN32
// ${PATCH_ID}: SO_ERROR for the poll error report (native/cap/patch.mjs in ofswitch)
# include <errno.h>
# include <sys/socket.h>
#endif
`,
  },
  {
    anchor: `    static void EmitPacket(u_char* user,`,
    insert: `#ifndef _WIN32
    // ${PATCH_ID}: libuv stopped polling the socket after an error; tell JavaScript.
    void EmitPollError() {
      Nan::HandleScope scope;
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      Local<Value> argv[2] = {
        Nan::New<String>("pollerror").ToLocalChecked(),
        Nan::New<Number>(err)
      };
      async_res.runInAsyncScope(Nan::New<Object>(persistent()), Nan::New<Function>(Emit), 2,
                                argv);
    }
#endif

    static void EmitPacket(u_char* user,`,
  },
  {
    anchor: `    static void cb_packets(uv_poll_t* handle, int status, int events) {
      assert(status == 0);
      Pcap *obj = (Pcap*)handle->data;
      int packet_count;
`,
    insert: `    static void cb_packets(uv_poll_t* handle, int status, int events) {
      Pcap *obj = (Pcap*)handle->data;
      int packet_count;

      // ${PATCH_ID}: a socket error (ENETDOWN: the interface went down or away) is reported,
      // not asserted on.
      if (status != 0) {
        if (obj->closing)
          return obj->cleanup();
        obj->EmitPollError();
        return;
      }
`,
  },
];

function warn(msg) {
  console.warn(
    `cap patch: WARNING: ${msg}; with --port-backend pcap an interface going down will abort ofswitch`,
  );
  process.exit(0);
}

let dir;
try {
  dir = dirname(createRequire(import.meta.url).resolve("cap/package.json"));
} catch {
  console.log("cap patch: cap is not installed; nothing to patch");
  process.exit(0);
}
const source = join(dir, "src/binding.cc");
const binary = join(dir, "build/Release/cap.node");
const stamp = join(dir, "build/Release/ofswitch.json");

let text = readFileSync(source, "utf8");
if (!text.includes(PATCH_ID)) {
  for (const { anchor, insert } of EDITS) {
    if (text.split(anchor).length !== 2)
      warn(`cap's src/binding.cc is not the one this patch knows`);
    text = text.replace(anchor, insert);
  }
  writeFileSync(source, text);
}
const stamped =
  existsSync(stamp) &&
  existsSync(binary) &&
  JSON.parse(readFileSync(stamp, "utf8")).patch === PATCH_ID &&
  statSync(binary).mtimeMs >= statSync(source).mtimeMs;
if (!stamped) {
  console.log("cap patch: rebuilding cap with the poll error patch");
  if (nodeGypRebuild(dir) !== 0) warn("rebuilding cap failed");
  writeFileSync(stamp, `${JSON.stringify({ patch: PATCH_ID })}\n`);
}
