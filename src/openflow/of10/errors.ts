// The one protocol error type. Every failure that OpenFlow reports back to the peer is an
// OfpError carrying the (type, code) pair to put on the wire; the mapping from "what went wrong"
// to that pair lives here and nowhere else.
import {
  ERROR_CODES,
  NX10_ERRORS,
  NX_VENDOR_ID,
  NXET_VENDOR,
  NXVC_VENDOR_ERROR,
  OFPBAC,
  OFPBRC,
  OFPET,
  OFPFMFC,
  OFPHFC,
  OFPPMFC,
  OFPQOFC,
  OFPT,
  type ErrorType,
} from "./constants.js";
import type { MessageOf } from "./messages.js";

/** OF1.0 echoes at most this many bytes of the offending request in an OFPT_ERROR. */
export const ERROR_DATA_LEN = 64;

const TYPE_PREFIX = "OFPET_";
const CODE_PREFIX: Readonly<Record<ErrorType, string>> = {
  [OFPET.HELLO_FAILED]: "OFPHFC_",
  [OFPET.BAD_REQUEST]: "OFPBRC_",
  [OFPET.BAD_ACTION]: "OFPBAC_",
  [OFPET.FLOW_MOD_FAILED]: "OFPFMFC_",
  [OFPET.PORT_MOD_FAILED]: "OFPPMFC_",
  [OFPET.QUEUE_OP_FAILED]: "OFPQOFC_",
};

function keyOf(table: Readonly<Record<string, number>>, value: number): string | undefined {
  for (const k in table) if (table[k] === value) return k;
  return undefined;
}

/** "OFPET_BAD_REQUEST/OFPBRC_BAD_LEN"; unknown numbers are printed as such. */
export function errorPairName(errType: number, code: number): string {
  if (errType === NXET_VENDOR && code === NXVC_VENDOR_ERROR) return "NXET_VENDOR/NXVC_VENDOR_ERROR";
  const typeKey = keyOf(OFPET, errType);
  if (typeKey === undefined) return `OFPET_${errType}/${code}`;
  const t = errType as ErrorType;
  const codeKey = keyOf(ERROR_CODES[t], code);
  return `${TYPE_PREFIX}${typeKey}/${codeKey === undefined ? code : CODE_PREFIX[t] + codeKey}`;
}

type CodeOf<T extends Readonly<Record<string, number>>> = T[keyof T];

export class OfpError extends Error {
  override readonly name = "OfpError";
  /** e.g. "OFPET_BAD_REQUEST/OFPBRC_BAD_LEN". */
  readonly pair: string;

  constructor(
    readonly errType: number,
    readonly code: number,
    /** The first 64 bytes of the offending message (empty when there is none), after `head`. */
    readonly data: Buffer = Buffer.alloc(0),
    readonly detail = "",
    /** Bytes the data starts with before the message (a vendor error's nx_vendor_error). */
    readonly head: Buffer = Buffer.alloc(0),
    name = errorPairName(errType, code),
  ) {
    super(detail ? `${name}: ${detail}` : name);
    this.pair = name;
  }

  /** Whether the data already holds (a prefix of) the offending message. */
  get hasMessage(): boolean {
    return this.data.length > this.head.length;
  }

  /** The same error, carrying the first 64 bytes of `message` as its data. */
  withData(message: Buffer): OfpError {
    const data = Buffer.concat([this.head, copyPrefix(message)]);
    return new OfpError(this.errType, this.code, data, this.detail, this.head, this.pair);
  }

  /** An error OF1.0 has no code for, encoded as Open vSwitch sends it to OF1.0 peers. */
  static nicira(name: keyof typeof NX10_ERRORS, detail = ""): OfpError {
    const [type, code] = NX10_ERRORS[name];
    const head = Buffer.alloc(8);
    head.writeUInt32BE(NX_VENDOR_ID, 0);
    head.writeUInt16BE(type, 4);
    head.writeUInt16BE(code, 6);
    return new OfpError(NXET_VENDOR, NXVC_VENDOR_ERROR, head, detail, head, name);
  }

  static helloFailed(code: CodeOf<typeof OFPHFC>, text: string): OfpError {
    // HELLO_FAILED carries a human-readable ASCII explanation instead of the request.
    return new OfpError(OFPET.HELLO_FAILED, code, Buffer.from(text, "latin1"), text);
  }

  static badRequest(code: CodeOf<typeof OFPBRC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.BAD_REQUEST, code, copyPrefix(message), detail);
  }

  static badAction(code: CodeOf<typeof OFPBAC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.BAD_ACTION, code, copyPrefix(message), detail);
  }

  static flowModFailed(code: CodeOf<typeof OFPFMFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.FLOW_MOD_FAILED, code, copyPrefix(message), detail);
  }

  static portModFailed(code: CodeOf<typeof OFPPMFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.PORT_MOD_FAILED, code, copyPrefix(message), detail);
  }

  static queueOpFailed(code: CodeOf<typeof OFPQOFC>, detail = "", message?: Buffer): OfpError {
    return new OfpError(OFPET.QUEUE_OP_FAILED, code, copyPrefix(message), detail);
  }
}

/** A copy (not a view: the stream buffer may be reused) of at most the first 64 bytes. */
function copyPrefix(message: Buffer | undefined): Buffer {
  if (message === undefined) return Buffer.alloc(0);
  return Buffer.from(message.subarray(0, ERROR_DATA_LEN));
}

/** The OFPT_ERROR to send for `err`. The xid is the offending message's (read from the
 * header in `err.data`) unless given; 0 when neither is known. */
export function errorToMessage(err: OfpError, xid?: number): MessageOf<typeof OFPT.ERROR> {
  const at = err.head.length;
  const echoed =
    xid ??
    (err.data.length >= at + 8 && err.errType !== OFPET.HELLO_FAILED
      ? err.data.readUInt32BE(at + 4)
      : 0);
  return { type: OFPT.ERROR, xid: echoed, errType: err.errType, code: err.code, data: err.data };
}
