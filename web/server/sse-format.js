// The wire format of the streams: SSE frames of log entries, and the resume
// id a request carries (Last-Event-ID header or ?lastEventId=).

/** Longest Last-Event-ID / lastEventId value accepted (MAX_SAFE_INTEGER has 16 digits). */
const MAX_ID_DIGITS = 16;

/**
 * The request log keeps at most this many characters of a resume id (a valid
 * one has at most 16 digits), and at most LOGGED_ID_VALUES values of a
 * repeated query parameter, so that an entry stays small whatever the request
 * carried (a 15 KB Last-Event-ID header must not be kept 20,000 times).
 */
export const LOGGED_ID_CHARS = 64;
const LOGGED_ID_VALUES = 4;

/**
 * Serialise one log entry as an SSE frame.
 * @param {{id:number,type:string,data:string}} entry
 */
export function formatEvent(entry) {
  let out = `id: ${entry.id}\n`;
  // An event type can never span lines; strip anything that would break framing.
  const type = String(entry.type).replace(/[\r\n]/g, '');
  if (type !== 'message' && type !== '') out += `event: ${type}\n`;
  for (const line of String(entry.data).split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return out + '\n';
}

/**
 * The SSE frame of an entry as a Buffer, made once per entry object and shared
 * by every stream that writes it (entries are frozen; the MemoryStore keeps
 * the same objects, so a replay to many clients formats nothing twice).
 */
const frames = new WeakMap();
export function frameOf(entry) {
  let frame = frames.get(entry);
  if (frame === undefined) {
    frame = Buffer.from(formatEvent(entry));
    if (Object.isFrozen(entry)) frames.set(entry, frame);
  }
  return frame;
}

/** The raw resume id of a request and where it came from, or null: the header first. */
function rawResumeId(req) {
  const header = req.get('Last-Event-ID');
  if (header !== undefined && header.trim() !== '') return { raw: header.trim(), from: 'Last-Event-ID header' };
  if (req.query.lastEventId !== undefined) return { raw: req.query.lastEventId, from: 'lastEventId query parameter' };
  return null;
}

/**
 * Parse the resume position of a request.
 * @returns {{ ok: true, id: number|null } | { ok: false, message: string }}
 */
export function parseResumeId(req) {
  const given = rawResumeId(req);
  if (given === null) return { ok: true, id: null };
  const { raw, from } = given;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || raw.length > MAX_ID_DIGITS || !Number.isSafeInteger(Number(raw))) {
    const shown = typeof raw === 'string' ? JSON.stringify(raw.slice(0, 40)) : 'a repeated parameter';
    return { ok: false, message: `Bad Request: the ${from} must be a non-negative integer event id, got ${shown}\n` };
  }
  return { ok: true, id: Number(raw) };
}

/**
 * Resume id a stream request carried, as sent (header first, like
 * parseResumeId), cut to LOGGED_ID_CHARS characters (and LOGGED_ID_VALUES
 * values of a repeated parameter): { lastEventId, truncated }.
 */
export function requestedResumeId(req) {
  const cut = (v) => {
    const text = typeof v === 'string' ? v : String(v);
    return text.length > LOGGED_ID_CHARS ? { text: text.slice(0, LOGGED_ID_CHARS), cut: true } : { text, cut: false };
  };
  const given = rawResumeId(req);
  if (given === null) return { lastEventId: null, truncated: false };
  if (!Array.isArray(given.raw)) {
    const { text, cut: truncated } = cut(given.raw);
    return { lastEventId: text, truncated };
  }
  const values = given.raw.slice(0, LOGGED_ID_VALUES).map(cut);
  return {
    lastEventId: Object.freeze(values.map((v) => v.text)),
    truncated: given.raw.length > LOGGED_ID_VALUES || values.some((v) => v.cut),
  };
}
