// The opt-in mail every channel has out of the box, in German and English. It is a template for the
// delivery engine (LiquidJS, `{{ }}` escaped in HTML): the values arrive as substitution data, so a
// channel name or first name can never inject markup or template code.
import type { PageLanguage } from './public-page-strings.ts';

export interface OptInMailTemplate {
  subject: string;
  html: string;
  text: string;
}

/** The variables the templates use. */
export interface OptInMailData {
  channelName: string;
  firstname: string;
  email: string;
  confirmUrl: string;
  unsubscribeUrl: string;
  accentColor: string;
}

const GERMAN: OptInMailTemplate = {
  subject: '{{ channelName }}: Bitte bestätigen Sie Ihre Anmeldung',
  html: `<!DOCTYPE html>
<html lang="de">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Anmeldung
bestätigen</title></head>
<body style="margin:0;padding:24px;background:#f4f4f5;font-family:Arial,Helvetica,sans-serif;color:#18181b">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-top:4px solid {{ accentColor }};padding:24px">
<h1 style="font-size:20px;margin:0 0 16px">{{ channelName }}</h1>
<p>{% if firstname != blank %}Hallo {{ firstname }},{% else %}Hallo,{% endif %}</p>
<p>Sie haben sich mit der Adresse {{ email }} für „{{ channelName }}“ angemeldet. Bitte bestätigen Sie Ihre Anmeldung
mit einem Klick:</p>
<p style="margin:24px 0"><a href="{{ confirmUrl }}"
style="display:inline-block;background:{{ accentColor }};color:#ffffff;
padding:12px 20px;text-decoration:none;border-radius:4px">Anmeldung bestätigen</a></p>
<p style="font-size:13px;color:#52525b">Falls der Knopf nicht funktioniert, öffnen Sie diesen Link:<br><a
href="{{ confirmUrl }}" style="color:#52525b;word-break:break-all">{{ confirmUrl }}</a></p>
<p style="font-size:13px;color:#52525b">Wenn Sie sich nicht angemeldet haben, ignorieren Sie diese E-Mail einfach; ohne
Bestätigung erhalten Sie nichts von uns. <a href="{{ unsubscribeUrl }}" style="color:#52525b">Adresse austragen</a></p>
</div>
</body>
</html>`,
  text: `{% if firstname != blank %}Hallo {{ firstname }},{% else %}Hallo,{% endif %}

Sie haben sich mit der Adresse {{ email }} für „{{ channelName }}“ angemeldet.
Bitte bestätigen Sie Ihre Anmeldung, indem Sie diesen Link öffnen:

{{ confirmUrl }}

Wenn Sie sich nicht angemeldet haben, ignorieren Sie diese E-Mail einfach; ohne Bestätigung erhalten Sie nichts von uns.
Adresse austragen: {{ unsubscribeUrl }}
`,
};

const ENGLISH: OptInMailTemplate = {
  subject: '{{ channelName }}: Please confirm your subscription',
  html: `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Confirm your
subscription</title></head>
<body style="margin:0;padding:24px;background:#f4f4f5;font-family:Arial,Helvetica,sans-serif;color:#18181b">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-top:4px solid {{ accentColor }};padding:24px">
<h1 style="font-size:20px;margin:0 0 16px">{{ channelName }}</h1>
<p>{% if firstname != blank %}Hello {{ firstname }},{% else %}Hello,{% endif %}</p>
<p>You signed up for “{{ channelName }}” with the address {{ email }}. Please confirm your subscription with one
click:</p>
<p style="margin:24px 0"><a href="{{ confirmUrl }}"
style="display:inline-block;background:{{ accentColor }};color:#ffffff;
padding:12px 20px;text-decoration:none;border-radius:4px">Confirm subscription</a></p>
<p style="font-size:13px;color:#52525b">If the button does not work, open this link:<br><a href="{{ confirmUrl }}"
style="color:#52525b;word-break:break-all">{{ confirmUrl }}</a></p>
<p style="font-size:13px;color:#52525b">If you did not sign up, simply ignore this email; without confirmation you will
not hear from us. <a href="{{ unsubscribeUrl }}" style="color:#52525b">Remove my address</a></p>
</div>
</body>
</html>`,
  text: `{% if firstname != blank %}Hello {{ firstname }},{% else %}Hello,{% endif %}

You signed up for “{{ channelName }}” with the address {{ email }}.
Please confirm your subscription by opening this link:

{{ confirmUrl }}

If you did not sign up, simply ignore this email; without confirmation you will not hear from us.
Remove my address: {{ unsubscribeUrl }}
`,
};

export function defaultOptInMail(language: PageLanguage): OptInMailTemplate {
  return language === 'de' ? GERMAN : ENGLISH;
}
