// The content of each public page. Every interpolated value goes through escapeHtml; links are
// paths on this server, so the pages work whatever host name the subscriber reached them by.
import { PAGE_LANGUAGES, pageStrings, type PageLanguage } from '../../domain/public-page-strings.ts';
import type { ConfirmQuestion, ConfirmResult, PreferencesView, UnsubscribeResult } from '../../services/opt-in.ts';
import { escapeHtml, type Page } from './html.ts';

const preferencesPath = (token: string) => `/p/preferences/${token}`;
const unsubscribePath = (token: string) => `/p/unsubscribe/${token}`;
const confirmPath = (token: string) => `/p/confirm/${token}`;

export function confirmedPage(r: ConfirmResult): Page {
  const s = pageStrings(r.language);
  return {
    language: r.language,
    channel: r.channel,
    title: s.confirmedTitle,
    body: `<p>${escapeHtml(r.alreadyConfirmed ? s.alreadyConfirmedText : s.confirmedText)}</p>
<footer><a href="${escapeHtml(preferencesPath(r.preferencesToken))}">${escapeHtml(s.managePreferences)}</a></footer>`,
  };
}

/**
 * The page behind the opt-in mail's link: it asks, only the button's POST confirms. The form
 * carries a signed form token (csrf.ts) so another site cannot press the button for the reader.
 */
export function confirmQuestionPage(r: ConfirmQuestion, token: string, formToken: string, note: string | null): Page {
  const s = pageStrings(r.language);
  const question = r.channel ? s.confirmQuestionChannel(r.channel.name) : s.confirmQuestionAll;
  return {
    language: r.language,
    channel: r.channel,
    title: s.confirmTitle,
    body: `${note ? `<p class="note error" role="alert">${escapeHtml(note)}</p>\n` : ''}<p>${escapeHtml(question)}</p>
<form method="post" action="${escapeHtml(confirmPath(token))}">
<input type="hidden" name="token" value="${escapeHtml(formToken)}">
<button type="submit">${escapeHtml(s.confirmButton)}</button>
</form>`,
  };
}

/** The page behind List-Unsubscribe and the mail's link: it asks, only the button's POST acts. */
export function unsubscribeQuestionPage(r: UnsubscribeResult, token: string): Page {
  const s = pageStrings(r.language);
  const question =
    r.scope === 'channel' && r.channel ? s.unsubscribeQuestionChannel(r.channel.name) : s.unsubscribeQuestionAll;
  return {
    language: r.language,
    channel: r.channel,
    title: s.unsubscribeTitle,
    body: `<p>${escapeHtml(question)}</p>
<form method="post" action="${escapeHtml(unsubscribePath(token))}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${escapeHtml(s.unsubscribeButton)}</button>
</form>
<footer><a href="${escapeHtml(preferencesPath(r.preferencesToken))}">${escapeHtml(s.managePreferences)}</a></footer>`,
  };
}

export function unsubscribedPage(r: UnsubscribeResult): Page {
  const s = pageStrings(r.language);
  const text = r.scope === 'channel' && r.channel ? s.unsubscribedTextChannel(r.channel.name) : s.unsubscribedTextAll;
  return {
    language: r.language,
    channel: r.channel,
    title: s.unsubscribedTitle,
    body: `<p>${escapeHtml(text)}</p>
<footer><a href="${escapeHtml(preferencesPath(r.preferencesToken))}">${escapeHtml(s.managePreferences)}</a></footer>`,
  };
}

export function preferencesPage(
  v: PreferencesView,
  token: string,
  formToken: string,
  notice: { kind: 'saved' | 'error'; text?: string } | null,
): Page {
  const s = pageStrings(v.language);
  const field = (name: 'firstname' | 'lastname', value: string) =>
    `<label for="${name}">${escapeHtml(s[name])}</label>
<input type="text" id="${name}" name="${name}" value="${escapeHtml(value)}" maxlength="100"
autocomplete="${name === 'firstname' ? 'given-name' : 'family-name'}">`;
  const languages = PAGE_LANGUAGES.map(
    (iso: PageLanguage) =>
      `<option value="${iso}"${iso === v.languageIso ? ' selected' : ''}>${escapeHtml(s.languageNames[iso])}</option>`,
  ).join('');
  const channels = v.channels.length
    ? v.channels
        .map(
          (c) =>
            `<label><input type="checkbox" name="channels" ` +
            `value="${escapeHtml(c.id)}"${c.subscribed ? ' checked' : ''}> ${escapeHtml(c.name)}</label>`,
        )
        .join('\n')
    : `<p>${escapeHtml(s.noChannels)}</p>`;
  const noticeHtml =
    notice === null
      ? ''
      : notice.kind === 'saved'
        ? `<p class="note" role="status">${escapeHtml(s.saved)}</p>`
        : `<p class="note error" role="alert">${escapeHtml(notice.text ?? s.invalidInput)}</p>`;
  return {
    language: v.language,
    channel: v.channel,
    title: s.preferencesTitle,
    body: `${noticeHtml}
<p>${escapeHtml(s.preferencesIntro(v.email))}</p>
${v.archived ? `<p class="note">${escapeHtml(s.archivedNote)}</p>` : ''}
<form method="post" action="${escapeHtml(preferencesPath(token))}">
<input type="hidden" name="token" value="${escapeHtml(formToken)}">
${field('firstname', v.firstname)}
${field('lastname', v.lastname)}
<label for="languageIso">${escapeHtml(s.language)}</label>
<select id="languageIso" name="languageIso">${languages}</select>
<fieldset>
<legend>${escapeHtml(s.channels)}</legend>
${channels}
</fieldset>
<button type="submit">${escapeHtml(s.save)}</button>
</form>
<footer><a href="${escapeHtml(unsubscribePath(v.unsubscribeToken))}">${escapeHtml(s.unsubscribeAll)}</a></footer>`,
  };
}

export function errorPage(
  language: PageLanguage,
  kind: 'invalid_link' | 'bad_request' | 'server_error' | 'unavailable',
): Page {
  const s = pageStrings(language);
  const [title, text] = {
    invalid_link: [s.errorTitle, s.errorText],
    bad_request: [s.badRequestTitle, s.badRequestText],
    server_error: [s.serverErrorTitle, s.serverErrorText],
    unavailable: [s.unavailableTitle, s.unavailableText],
  }[kind];
  return { language, channel: null, title, body: `<p>${escapeHtml(text)}</p>` };
}
