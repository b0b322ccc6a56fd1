/**
 * @module alerts/mail
 * Sends alert e-mails through the SMTP server of the vault's configuration (nodemailer).
 */
import { CofferError } from '@coffer/core';
import type { Transporter } from 'nodemailer';

/** Sends one plain-text e-mail at a time. */
export interface Mailer {
  readonly from: string;
  /** Where mail goes, without credentials (for messages and logs). */
  readonly server: string;
  send(message: { to: string; subject: string; text: string }): Promise<void>;
  close(): void;
}

/** `smtp://[user:pass@]host:port` or `smtps://…` with any credentials removed. */
export function smtpServerName(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}`;
}

/**
 * A mailer for `url` (smtp:// uses STARTTLS when the server offers it; smtps:// is TLS from the
 * start). Throws USAGE for any other URL.
 */
export function smtpMailer(url: string, from: string): Mailer {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CofferError(
      'USAGE',
      '--smtp: expected smtp://[USER:PASSWORD@]HOST:PORT or smtps://…',
    );
  }
  if (parsed.protocol !== 'smtp:' && parsed.protocol !== 'smtps:') {
    throw new CofferError('USAGE', `--smtp ${smtpServerName(url)}: use smtp:// or smtps://`);
  }
  // Loaded on the first e-mail: every admin command imports this package for its TLS helpers.
  let transport: Promise<Transporter> | undefined;
  const open = async (): Promise<Transporter> => {
    const nodemailer = await import('nodemailer');
    return nodemailer.createTransport({
      url,
      connectionTimeout: 15_000,
      greetingTimeout: 15_000,
      socketTimeout: 30_000,
    });
  };
  return {
    from,
    server: smtpServerName(url),
    async send(message) {
      transport ??= open();
      await (await transport).sendMail({ from, ...message });
    },
    close() {
      void transport?.then(
        (t) => t.close(),
        () => undefined,
      );
    },
  };
}
