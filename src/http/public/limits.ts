/** A small form is all the public pages ever receive. */
export const PUBLIC_BODY_LIMIT = 16 * 1024;
