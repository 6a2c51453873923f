// Everything a subscriber reads on the public pages, in German and English, and the small rules
// that pick the language and the channel's colour.
export type PageLanguage = 'de' | 'en';

export const PAGE_LANGUAGES: readonly PageLanguage[] = ['de', 'en'];

/** German for 'de', English for everything else (the two languages Posthorn ships). */
export function pageLanguage(iso: string | null | undefined): PageLanguage {
  return iso?.toLowerCase() === 'de' ? 'de' : 'en';
}

/** For pages without a subscriber (a broken link): the browser's first choice between de and en. */
export function languageFromAcceptLanguage(header: string | undefined): PageLanguage {
  const first = (header ?? '').split(',')[0]?.trim().slice(0, 2).toLowerCase();
  return first === 'de' ? 'de' : 'en';
}

export const DEFAULT_ACCENT = '#1f4e79';

/** A channel colour is used only when it is a plain hex colour: it ends up inside CSS. */
export function accentColor(color: string | null | undefined): string {
  return color && /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(color) ? color : DEFAULT_ACCENT;
}

export interface PageStrings {
  newsletter: string;
  confirmedTitle: string;
  confirmedText: string;
  alreadyConfirmedText: string;
  confirmTitle: string;
  confirmQuestionChannel: (channel: string) => string;
  confirmQuestionAll: string;
  confirmButton: string;
  managePreferences: string;
  unsubscribeTitle: string;
  unsubscribeQuestionChannel: (channel: string) => string;
  unsubscribeQuestionAll: string;
  unsubscribeButton: string;
  unsubscribedTitle: string;
  unsubscribedTextChannel: (channel: string) => string;
  unsubscribedTextAll: string;
  preferencesTitle: string;
  preferencesIntro: (email: string) => string;
  firstname: string;
  lastname: string;
  language: string;
  languageNames: Record<PageLanguage, string>;
  channels: string;
  noChannels: string;
  save: string;
  saved: string;
  archivedNote: string;
  unsubscribeAll: string;
  invalidInput: string;
  errorTitle: string;
  errorText: string;
  badRequestTitle: string;
  badRequestText: string;
  serverErrorTitle: string;
  serverErrorText: string;
  signupTitle: string;
  signupIntro: (channel: string) => string;
  email: string;
  signupButton: string;
  signupDoneTitle: string;
  signupDoneText: (channel: string) => string;
  signupInvalidEmail: string;
  signupExpired: string;
  signupTooMany: string;
  unavailableTitle: string;
  unavailableText: string;
}

const de: PageStrings = {
  newsletter: 'Newsletter',
  confirmedTitle: 'Vielen Dank!',
  confirmedText: 'Ihre Anmeldung ist bestätigt. Sie erhalten ab jetzt unsere E-Mails.',
  alreadyConfirmedText: 'Ihre Anmeldung war bereits bestätigt. Sie müssen nichts weiter tun.',
  confirmTitle: 'Anmeldung bestätigen',
  confirmQuestionChannel: (c) => `Bitte bestätigen Sie Ihre Anmeldung für „${c}“.`,
  confirmQuestionAll: 'Bitte bestätigen Sie Ihre Anmeldung zu unseren E-Mails.',
  confirmButton: 'Anmeldung bestätigen',
  managePreferences: 'Einstellungen verwalten',
  unsubscribeTitle: 'Abmelden',
  unsubscribeQuestionChannel: (c) => `Möchten Sie sich von „${c}“ abmelden?`,
  unsubscribeQuestionAll: 'Möchten Sie sich von allen unseren E-Mails abmelden?',
  unsubscribeButton: 'Jetzt abmelden',
  unsubscribedTitle: 'Sie sind abgemeldet',
  unsubscribedTextChannel: (c) => `Sie erhalten keine E-Mails von „${c}“ mehr.`,
  unsubscribedTextAll: 'Sie erhalten keine E-Mails mehr von uns.',
  preferencesTitle: 'Ihre Einstellungen',
  preferencesIntro: (email) => `Hier ändern Sie, was wir über ${email} wissen und welche E-Mails Sie erhalten.`,
  firstname: 'Vorname',
  lastname: 'Nachname',
  language: 'Sprache',
  languageNames: { de: 'Deutsch', en: 'Englisch' },
  channels: 'Ihre Abonnements',
  noChannels: 'Es gibt keine Abonnements zur Auswahl.',
  save: 'Speichern',
  saved: 'Ihre Einstellungen wurden gespeichert.',
  archivedNote: 'Diese Adresse ist derzeit abgemeldet und erhält keine E-Mails.',
  unsubscribeAll: 'Von allen E-Mails abmelden',
  invalidInput: 'Bitte prüfen Sie Ihre Eingaben: Namen dürfen höchstens 100 Zeichen lang sein.',
  errorTitle: 'Dieser Link ist nicht gültig',
  errorText:
    'Der Link ist abgelaufen, unvollständig oder wurde verändert. Bitte verwenden Sie den Link aus der neuesten ' +
    'E-Mail.',
  badRequestTitle: 'Das hat nicht geklappt',
  badRequestText: 'Bitte senden Sie das Formular auf dieser Seite noch einmal ab.',
  serverErrorTitle: 'Etwas ist schiefgegangen',
  serverErrorText: 'Bitte versuchen Sie es in ein paar Minuten noch einmal.',
  signupTitle: 'Anmelden',
  signupIntro: (c) =>
    `Melden Sie sich für „${c}“ an. Sie erhalten danach eine E-Mail, mit der Sie die Anmeldung bestätigen.`,
  email: 'E-Mail-Adresse',
  signupButton: 'Anmelden',
  signupDoneTitle: 'Fast geschafft',
  signupDoneText: (c) =>
    `Bitte sehen Sie in Ihr Postfach: Mit dem Link in unserer E-Mail bestätigen Sie Ihre Anmeldung für „${c}“.`,
  signupInvalidEmail: 'Bitte geben Sie eine gültige E-Mail-Adresse ein.',
  signupExpired: 'Das Formular war zu lange geöffnet. Bitte senden Sie es noch einmal ab.',
  signupTooMany: 'Von Ihrer Verbindung kamen gerade viele Anmeldungen. Bitte versuchen Sie es später noch einmal.',
  unavailableTitle: 'Gerade nicht erreichbar',
  unavailableText: 'Dieser Dienst ist für einen Moment nicht erreichbar. Bitte laden Sie die Seite gleich noch einmal.',
};

const en: PageStrings = {
  newsletter: 'Newsletter',
  confirmedTitle: 'Thank you!',
  confirmedText: 'Your subscription is confirmed. You will receive our emails from now on.',
  alreadyConfirmedText: 'Your subscription was already confirmed. There is nothing more to do.',
  confirmTitle: 'Confirm your subscription',
  confirmQuestionChannel: (c) => `Please confirm your subscription to “${c}”.`,
  confirmQuestionAll: 'Please confirm your subscription to our emails.',
  confirmButton: 'Confirm subscription',
  managePreferences: 'Manage preferences',
  unsubscribeTitle: 'Unsubscribe',
  unsubscribeQuestionChannel: (c) => `Do you want to unsubscribe from “${c}”?`,
  unsubscribeQuestionAll: 'Do you want to unsubscribe from all our emails?',
  unsubscribeButton: 'Unsubscribe now',
  unsubscribedTitle: 'You are unsubscribed',
  unsubscribedTextChannel: (c) => `You will no longer receive emails from “${c}”.`,
  unsubscribedTextAll: 'You will no longer receive emails from us.',
  preferencesTitle: 'Your preferences',
  preferencesIntro: (email) => `Change what we know about ${email} and which emails you receive.`,
  firstname: 'First name',
  lastname: 'Last name',
  language: 'Language',
  languageNames: { de: 'German', en: 'English' },
  channels: 'Your subscriptions',
  noChannels: 'There are no subscriptions to choose from.',
  save: 'Save',
  saved: 'Your preferences have been saved.',
  archivedNote: 'This address is currently unsubscribed and receives no emails.',
  unsubscribeAll: 'Unsubscribe from all emails',
  invalidInput: 'Please check your input: names may be at most 100 characters long.',
  errorTitle: 'This link is not valid',
  errorText: 'The link has expired, is incomplete or was altered. Please use the link from the most recent email.',
  badRequestTitle: 'That did not work',
  badRequestText: 'Please send the form on this page again.',
  serverErrorTitle: 'Something went wrong',
  serverErrorText: 'Please try again in a few minutes.',
  signupTitle: 'Sign up',
  signupIntro: (c) => `Sign up for “${c}”. You will then receive an email to confirm your subscription.`,
  email: 'Email address',
  signupButton: 'Sign up',
  signupDoneTitle: 'Almost done',
  signupDoneText: (c) => `Please check your inbox: the link in our email confirms your subscription to “${c}”.`,
  signupInvalidEmail: 'Please enter a valid email address.',
  signupExpired: 'The form was open for too long. Please send it again.',
  signupTooMany: 'Many signups came from your connection just now. Please try again later.',
  unavailableTitle: 'Temporarily unavailable',
  unavailableText: 'This service is unavailable for a moment. Please reload the page shortly.',
};

export function pageStrings(language: PageLanguage): PageStrings {
  return language === 'de' ? de : en;
}
