/**
 * Paths and URLs the server hands back (output_file_url, legacy absolute URLs, preview URLs),
 * turned into a request path on the configured origin. Audio is only ever fetched from there.
 *
 * A server may send a name with a space, a control or non-ASCII character, no leading slash, or
 * an absolute URL that does not parse. undici refuses such a path, and a refused request leaves
 * its pool slot unusable, so every path is percent-encoded here, or refused as invalid-response.
 */
import { AllTalkError } from './errors';

/** Characters a request path may hold as they are (RFC 3986 pchar, '/' and '?'), and '%' escapes. */
const NEEDS_ENCODING = /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;
/** A path with nothing to encode (the usual case): checked first, it spares the replace. */
const CLEAN = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*$/;
/** What undici sends (it refuses anything else). */
const SENDABLE = /^\/[\x21-\x7e]*$/;

type Redact = (text: string) => string;

function invalid(origin: string, url: unknown, why: string, redact: Redact): AllTalkError {
  // Redacted before it is cut: a secret across the cut would otherwise show in part.
  const clean = typeof url === 'string' ? redact(url) : '';
  const shown = typeof url === 'string' ? JSON.stringify(clean.length > 80 ? `${clean.slice(0, 80)}…` : clean) : typeof url;
  return new AllTalkError('invalid-response',
    `AllTalk at ${origin} sent an audio address that cannot be used (${why}): ${shown}. Is this an AllTalk v2 server?`,
    { server: origin });
}

/** Percent-encodes what a request path may not hold; keeps valid %XX escapes as they are. */
export function encodePath(path: string): string {
  if (CLEAN.test(path)) return path;
  return path.replace(NEEDS_ENCODING, (c) => encodeURIComponent(c));
}

/**
 * The request path for a path or URL the server sent: an absolute URL keeps only its path and
 * query; a relative one gets a leading slash; both are percent-encoded.
 * @throws AllTalkError invalid-response when nothing usable can be made of it.
 */
export function serverPath(url: unknown, origin = 'the server', redact: Redact = (t) => t): string {
  if (typeof url !== 'string' || !url.trim()) throw invalid(origin, url, 'it is empty or not text', redact);
  const trimmed = url.trim();
  let path: string;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed) || trimmed.startsWith('//')) {
    let u: URL;
    try {
      u = new URL(trimmed.startsWith('//') ? `http:${trimmed}` : trimmed);
    } catch {
      throw invalid(origin, url, 'a malformed URL', redact);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw invalid(origin, url, `a ${u.protocol} URL`, redact);
    path = `${u.pathname}${u.search}`;
  } else {
    // A fragment is not part of a file name the server returned: '#' is encoded with the rest.
    path = trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
  }
  let encoded: string;
  try {
    encoded = encodePath(path);
  } catch {
    throw invalid(origin, url, 'it holds broken Unicode', redact);
  }
  if (!SENDABLE.test(encoded)) throw invalid(origin, url, 'it cannot be sent as a request path', redact);
  return encoded;
}
