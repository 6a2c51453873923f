// Following a confirmation link as a person does: open the page (a GET changes nothing), then
// press its button (a POST of the page's form, with its signed form token).

export interface PageAnswer {
  status: number;
  text: string;
  headers: Headers;
}

async function answer(res: Response): Promise<PageAnswer> {
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The signed form token of the page's form, or null when it has no form. */
export function formTokenOf(html: string): string | null {
  return /<input type="hidden" name="token" value="([^"]+)">/.exec(html)?.[1] ?? null;
}

/**
 * Opens the confirm page at `path` (of the server at `baseUrl`) and presses its button; the final
 * page. A page without a form (already confirmed, a bad link) is returned as it is.
 */
export async function confirmByPage(baseUrl: string, path: string): Promise<PageAnswer> {
  const url = baseUrl + new URL(path, 'http://placeholder').pathname;
  const question = await answer(await fetch(url, { redirect: 'manual' }));
  const token = formTokenOf(question.text);
  if (question.status !== 200 || token === null) return question;
  return answer(
    await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    }),
  );
}
