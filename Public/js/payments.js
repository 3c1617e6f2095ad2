// payments.js: the browser client of this payment service, a dependency-free ES module (no build step).
//
// It has the small surface of Stripe.js that "accept card payments without webhooks" uses:
//
//   import { Payments } from '/js/payments.js';
//   const payments = Payments('pk_test_...', { baseUrl: 'https://pay.example.com' });
//   const { paymentMethod, error } = await payments.createPaymentMethod({
//     type: 'card',
//     card: { number, exp_month, exp_year, cvc },
//     billing_details: { address: { postal_code } },
//   });
//   const { paymentIntent, error } = await payments.handleCardAction(clientSecret);
//   const { setupIntent, error } = await payments.handleCardSetup(setupIntentClientSecret);
//
// Results are Stripe's: `{paymentMethod}` / `{paymentIntent}` / `{setupIntent}` on success, `{error}` with the API's
// error object (`type`, `code`, `message`, `param`, ...) otherwise. Nothing here throws for a failed payment.
//
// handleCardAction (for a PaymentIntent) and handleCardSetup (for a SetupIntent: saving a card without paying) show
// the card issuer's 3-D Secure page (the intent's next_action.redirect_to_url.url) in a modal frame. That page tells
// its parent the outcome with `postMessage({type: "payments-3ds-result", payment_intent, outcome})` (`setup_intent`
// for a setup), or `outcome: "expired"` from the page of a link already used or past its window (the answer is then
// the intent's state, read afresh), and may ask to be closed with
// `{type: "payments-3ds-cancel"}` (Escape pressed inside the frame). Closing the modal (Escape, the close
// button) fails the authentication, as Stripe.js does.

/** The origin this module was served from: the payment service, when loaded from it. */
const MODULE_ORIGIN = (() => {
  try {
    return new URL(import.meta.url).origin;
  } catch {
    return '';
  }
})();

/** Messages of the client itself; API errors keep the server's message. */
const MESSAGES = {
  en: {
    locale: 'en',
    dialogTitle: 'Confirm your payment',
    dialogDescription: 'Your card issuer asks you to confirm this payment.',
    setupDialogTitle: 'Confirm your card',
    setupDialogDescription: 'Your card issuer asks you to confirm that this card may be saved for later payments.',
    frameTitle: 'Card issuer authentication (3-D Secure)',
    close: 'Cancel authentication',
    authenticationFailed:
      'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
    connection: 'Could not reach the payment service. Check your connection and try again.',
    unexpected: 'The payment service sent an unexpected answer.',
    badSecret: 'The client secret is not a PaymentIntent client secret.',
    badSetupSecret: 'The client secret is not a SetupIntent client secret.',
    busy: 'Another authentication is already in progress.',
    unexpectedState: 'The PaymentIntent does not need an action this client can handle.',
  },
  ja: {
    locale: 'ja',
    dialogTitle: 'お支払いの確認',
    dialogDescription: 'カード発行会社がこのお支払いの確認を求めています。',
    setupDialogTitle: 'カードの確認',
    setupDialogDescription: 'カード発行会社が、このカードを今後のお支払いのために保存することの確認を求めています。',
    frameTitle: 'カード発行会社による本人認証 (3-D セキュア)',
    close: '認証をキャンセル',
    authenticationFailed: 'お支払い方法を認証できませんでした。別のお支払い方法を選んで、もう一度お試しください。',
    connection: '決済サービスに接続できませんでした。接続を確認して、もう一度お試しください。',
    unexpected: '決済サービスから予期しない応答がありました。',
    badSecret: 'PaymentIntent のクライアントシークレットではありません。',
    badSetupSecret: 'SetupIntent のクライアントシークレットではありません。',
    busy: '別の認証がすでに進行中です。',
    unexpectedState: 'この PaymentIntent には、このクライアントで処理できる操作がありません。',
  },
};

/**
 * The two kinds of intent a client secret names (`pi_..._secret_...`, `seti_..._secret_...`): where the API keeps
 * them, what results and errors call them, and the statuses that mean the customer's authentication went through.
 */
const KINDS = {
  payment: {
    prefix: 'pi',
    path: '/v1/payment_intents',
    result: 'paymentIntent',
    field: 'payment_intent',
    lastError: 'last_payment_error',
    authenticated: new Set(['requires_confirmation', 'processing', 'requires_capture', 'succeeded']),
    badSecret: 'badSecret',
    title: 'dialogTitle',
    description: 'dialogDescription',
  },
  setup: {
    prefix: 'seti',
    path: '/v1/setup_intents',
    result: 'setupIntent',
    field: 'setup_intent',
    lastError: 'last_setup_error',
    authenticated: new Set(['processing', 'succeeded']),
    badSecret: 'badSetupSecret',
    title: 'setupDialogTitle',
    description: 'setupDialogDescription',
  },
};

/** How long closing the modal waits for the issuer page to record the failure before reading the intent. */
const CANCEL_TIMEOUT_MS = 5000;

/**
 * Picks `en` or `ja` from an explicit locale or, for `auto`, the browser's preferred languages.
 * @param {string | undefined} locale
 * @returns {'en' | 'ja'}
 */
function pickLocale(locale) {
  const candidates = locale && locale !== 'auto' ? [locale] : (navigator.languages ?? [navigator.language ?? 'en']);
  for (const tag of candidates) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary === 'ja' || primary === 'en') return primary;
  }
  return 'en';
}

/**
 * Encodes nested objects as Stripe's form bodies: `card[number]=...&billing_details[address][postal_code]=...`.
 * Null and undefined values are left out.
 */
function formEncode(value, prefix = '', params = new URLSearchParams()) {
  if (value === null || value === undefined) return params;
  if (Array.isArray(value)) {
    value.forEach((item, index) => formEncode(item, `${prefix}[${index}]`, params));
  } else if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) formEncode(child, prefix ? `${prefix}[${key}]` : key, params);
  } else {
    params.append(prefix, String(value));
  }
  return params;
}

/**
 * Creates the client for one publishable key.
 * @param {string} publishableKey a `pk_...` key; secret keys are refused, they must never reach a browser.
 * @param {{baseUrl?: string, locale?: 'auto' | 'en' | 'ja'}} [options] `baseUrl`: the payment service (default:
 *   where this module was loaded from); `locale`: the language of the modal and of the client's own messages.
 */
export function Payments(publishableKey, options = {}) {
  if (typeof publishableKey !== 'string' || !publishableKey.startsWith('pk_')) {
    throw new TypeError('Payments() needs a publishable key (pk_...). Never use a secret key in a browser.');
  }
  const baseUrl = String(options.baseUrl ?? MODULE_ORIGIN).replace(/\/+$/, '');
  const text = MESSAGES[pickLocale(options.locale)];
  let actionInProgress = false;

  /** One API call; resolves `{object}` or `{error}`, never throws. */
  async function api(method, path, form) {
    const headers = { Authorization: `Bearer ${publishableKey}` };
    if (form) headers['Content-Type'] = 'application/x-www-form-urlencoded';
    let response;
    try {
      response = await fetch(baseUrl + path, {
        method,
        headers,
        body: form ? form.toString() : undefined,
        credentials: 'omit',
        cache: 'no-store',
      });
    } catch (error) {
      console.warn(`payments.js: ${method} ${path} failed:`, error);
      return { error: { type: 'api_connection_error', message: text.connection } };
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (response.ok && body && typeof body === 'object' && !body.error) return { object: body };
    if (body && body.error && typeof body.error === 'object') return { error: body.error };
    return { error: { type: 'api_error', message: `${text.unexpected} (HTTP ${response.status})` } };
  }

  /** The id inside a client secret of `kind` (`pi_..._secret_...`, `seti_..._secret_...`), or null. */
  function intentID(clientSecret, kind) {
    const match = /^([a-z]+)_([A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(String(clientSecret ?? ''));
    return match && match[1] === kind.prefix ? `${match[1]}_${match[2]}` : null;
  }

  /** Retrieves an intent of `kind` with its client secret (the redacted view a publishable key gets). */
  async function retrieveIntent(clientSecret, kind) {
    const id = intentID(clientSecret, kind);
    if (!id) {
      return { error: { type: 'invalid_request_error', code: 'parameter_invalid', message: text[kind.badSecret] } };
    }
    const query = new URLSearchParams({ client_secret: clientSecret });
    const { object, error } = await api('GET', `${kind.path}/${encodeURIComponent(id)}?${query}`);
    return error ? { error } : { [kind.result]: object };
  }

  /**
   * Retrieves a PaymentIntent with its client secret.
   * @returns {Promise<{paymentIntent: object} | {error: object}>}
   */
  function retrievePaymentIntent(clientSecret) {
    return retrieveIntent(clientSecret, KINDS.payment);
  }

  /**
   * Retrieves a SetupIntent with its client secret.
   * @returns {Promise<{setupIntent: object} | {error: object}>}
   */
  function retrieveSetupIntent(clientSecret) {
    return retrieveIntent(clientSecret, KINDS.setup);
  }

  /**
   * Creates a card PaymentMethod: `POST /v1/payment_methods` with the publishable key.
   * @param {{type: 'card', card: {number: string, exp_month: number|string, exp_year: number|string,
   *   cvc?: string}, billing_details?: object}} data
   * @returns {Promise<{paymentMethod: object} | {error: object}>}
   */
  async function createPaymentMethod(data) {
    const { type = 'card', card, billing_details: billingDetails, metadata } = data ?? {};
    const { object, error } = await api(
      'POST',
      '/v1/payment_methods',
      formEncode({ type, card, billing_details: billingDetails, metadata })
    );
    return error ? { error } : { paymentMethod: object };
  }

  /**
   * Lets the customer complete the card's action (3-D Secure) for an intent in `requires_action`.
   * Resolves `{paymentIntent}` (retrieved again after the issuer's answer) when authenticated, or
   * `{error: {code: 'payment_intent_authentication_failure', ...}}` when it failed or the customer closed it.
   * @param {string} clientSecret the intent's `client_secret`, as `/pay` answers it.
   */
  function handleCardAction(clientSecret) {
    return handleAction(clientSecret, KINDS.payment);
  }

  /**
   * Lets the customer complete the card's action (3-D Secure) for a SetupIntent in `requires_action`: saving a card
   * without paying. Resolves `{setupIntent}` (retrieved again after the issuer's answer, `succeeded` once the card
   * is saved) or `{error: {code: 'setup_intent_authentication_failure', ...}}`.
   * @param {string} clientSecret the setup intent's `client_secret`.
   */
  function handleCardSetup(clientSecret) {
    return handleAction(clientSecret, KINDS.setup);
  }

  /** One card action at a time, for an intent of `kind`. */
  async function handleAction(clientSecret, kind) {
    if (actionInProgress) {
      return { error: { type: 'invalid_request_error', code: 'action_in_progress', message: text.busy } };
    }
    actionInProgress = true;
    try {
      return await runCardAction(clientSecret, kind);
    } finally {
      actionInProgress = false;
    }
  }

  /** The error a card action resolves for an intent it cannot (or can no longer) authenticate. */
  function actionError(failed, intent, kind) {
    const code = `${kind.field}_${failed ? 'authentication_failure' : 'unexpected_state'}`;
    const message = failed ? text.authenticationFailed : text.unexpectedState;
    return { error: { type: 'invalid_request_error', code, message, [kind.field]: intent } };
  }

  /**
   * The error for an intent whose attempt expired before its challenge was answered, with the server's code
   * (`payment_intent_payment_attempt_expired`, `setup_intent_setup_attempt_expired`), so a page can say it took too
   * long rather than that authentication failed. Null for any other intent.
   */
  function expiredError(intent, kind) {
    const last = intent[kind.lastError];
    if (!last?.code?.endsWith('_attempt_expired')) return null;
    return { error: { type: 'invalid_request_error', code: last.code, message: last.message, [kind.field]: intent } };
  }

  async function runCardAction(clientSecret, kind) {
    const retrieved = await retrieveIntent(clientSecret, kind);
    if (retrieved.error) return retrieved;
    const intent = retrieved[kind.result];
    if (kind.authenticated.has(intent.status)) return { [kind.result]: intent };
    if (intent.status !== 'requires_action') {
      const expired = expiredError(intent, kind);
      if (expired) return expired;
      const failed = intent[kind.lastError]?.code === `${kind.field}_authentication_failure`;
      return actionError(failed, intent, kind);
    }
    const url = intent.next_action?.redirect_to_url?.url;
    if (intent.next_action?.type !== 'redirect_to_url' || !url) return actionError(false, intent, kind);
    const answer = await showChallenge(url, intent.id, text, kind);
    if (answer.outcome === 'cancel') await recordCancel(url);
    let after = await retrieveIntent(clientSecret, kind);
    // A link answered elsewhere a moment ago (another window, the same form posted twice): its answer is recorded,
    // no challenge is left (`next_action` null), but the payment that follows it may still be on its way to the
    // card network. Read again until it is decided, rather than report a failure over a payment that then succeeds.
    for (let tries = 0; tries < 40 && answer.outcome === 'expired' && !after.error; tries++) {
      const current = after[kind.result];
      if (current.status !== 'requires_action' || current.next_action) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await retrieveIntent(clientSecret, kind);
    }
    if (after.error) return after;
    if (answer.outcome !== 'fail' && kind.authenticated.has(after[kind.result].status)) {
      return { [kind.result]: after[kind.result] };
    }
    return expiredError(after[kind.result], kind) ?? actionError(true, after[kind.result], kind);
  }

  return Object.freeze({
    createPaymentMethod,
    handleCardAction,
    handleCardSetup,
    retrievePaymentIntent,
    retrieveSetupIntent,
  });
}

export default Payments;

/**
 * Tells the issuer page that the customer gave up (as Stripe.js does when its modal is closed), so the intent
 * leaves `requires_action` at once. Best effort: a used or expired link, or a network failure, changes nothing.
 */
async function recordCancel(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), CANCEL_TIMEOUT_MS);
  try {
    const sameOrigin = new URL(url, location.href).origin === location.origin;
    await fetch(url, {
      method: 'POST',
      body: new URLSearchParams({ outcome: 'fail' }),
      mode: sameOrigin ? 'same-origin' : 'no-cors',
      credentials: 'omit',
      signal: controller.signal,
    });
  } catch {
    // The intent stays as it is; the page reads it next and reports what it finds.
  } finally {
    clearTimeout(timer);
  }
}

// MARK: - The modal

const STYLE_ID = 'payments-3ds-style';

const STYLE = `
.payments-3ds-backdrop { position: fixed; inset: 0; z-index: 2147483000; display: flex; align-items: center;
  justify-content: center; padding: 1rem; background: rgba(15, 23, 42, .55); box-sizing: border-box; }
.payments-3ds-dialog { display: flex; flex-direction: column; width: min(100%, 30rem); height: min(100%, 34rem);
  background: #fff; color: #1a1f36; border-radius: 12px; box-shadow: 0 20px 50px rgba(0, 0, 0, .3);
  overflow: hidden; font: 16px/1.4 system-ui, -apple-system, "Segoe UI", "Hiragino Sans", "Noto Sans CJK JP",
  sans-serif; }
.payments-3ds-dialog:focus { outline: none; }
.payments-3ds-dialog:focus-visible { outline: 3px solid #635bff; outline-offset: -3px; }
.payments-3ds-header { display: flex; align-items: flex-start; gap: .75rem; padding: .9rem 1rem .6rem;
  border-bottom: 1px solid #e3e8ee; }
.payments-3ds-heading { flex: 1; }
.payments-3ds-title { margin: 0; font-size: 1.05rem; font-weight: 600; }
.payments-3ds-description { margin: .15rem 0 0; font-size: .875rem; color: #4f566b; }
.payments-3ds-close { flex: none; width: 2.5rem; height: 2.5rem; margin: -.35rem -.4rem 0 0; border: 0;
  border-radius: 8px; background: transparent; color: #4f566b; font: inherit; font-size: 1.5rem; line-height: 1;
  cursor: pointer; }
.payments-3ds-close:hover { background: #f1f3f7; }
.payments-3ds-close:focus-visible { outline: 3px solid #635bff; outline-offset: 0; }
.payments-3ds-frame { flex: 1; width: 100%; border: 0; background: #fff; }
@media (max-width: 30rem) {
  .payments-3ds-backdrop { padding: 0; align-items: stretch; }
  .payments-3ds-dialog { width: 100%; height: 100%; border-radius: 0; }
}
`;

let dialogCount = 0;

/**
 * Shows `url` in a modal frame and waits for the customer's answer. `expired`: the link was used already (answered
 * in another window, or its form posted twice) or its window closed, so only the intent's state says what happened.
 * @returns {Promise<{outcome: 'complete' | 'fail' | 'cancel' | 'expired'}>}
 */
function showChallenge(url, intentID, text, kind) {
  if (!document.getElementById(STYLE_ID)) {
    const style = document.createElement('style');
    style.id = STYLE_ID;
    style.textContent = STYLE;
    document.head.append(style);
  }
  const n = ++dialogCount;
  const frameOrigin = new URL(url, location.href).origin;

  const backdrop = document.createElement('div');
  backdrop.className = 'payments-3ds-backdrop';
  backdrop.dataset.payments3ds = 'modal';

  const dialog = document.createElement('div');
  dialog.className = 'payments-3ds-dialog';
  dialog.setAttribute('role', 'dialog');
  dialog.setAttribute('aria-modal', 'true');
  dialog.setAttribute('aria-labelledby', `payments-3ds-title-${n}`);
  dialog.setAttribute('aria-describedby', `payments-3ds-description-${n}`);
  dialog.tabIndex = -1;

  const header = document.createElement('div');
  header.className = 'payments-3ds-header';
  const heading = document.createElement('div');
  heading.className = 'payments-3ds-heading';
  const title = document.createElement('h2');
  title.className = 'payments-3ds-title';
  title.id = `payments-3ds-title-${n}`;
  title.textContent = text[kind.title];
  const description = document.createElement('p');
  description.className = 'payments-3ds-description';
  description.id = `payments-3ds-description-${n}`;
  description.textContent = text[kind.description];
  heading.append(title, description);
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'payments-3ds-close';
  close.setAttribute('aria-label', text.close);
  close.textContent = '\u00d7';
  header.append(heading, close);

  const frame = document.createElement('iframe');
  frame.className = 'payments-3ds-frame';
  frame.title = text.frameTitle;
  frame.name = `payments-3ds-frame-${n}`;
  // The issuer's page in the modal's language (the test-mode page reads `locale`; a real issuer ignores it)
  const source = new URL(url, location.href);
  source.searchParams.set('locale', text.locale);
  // The page answers this modal with its message, not by going to the intent's return_url inside the frame
  source.searchParams.set('modal', '1');
  frame.src = source.href;

  dialog.append(header, frame);
  backdrop.append(dialog);

  // Everything else on the page is inert while the modal is open: no focus, no clicks, hidden from screen readers.
  const others = [...document.body.children].filter((element) => !element.inert);
  const previousFocus = document.activeElement;
  const previousOverflow = document.body.style.overflow;

  return new Promise((resolve) => {
    let finished = false;

    function finish(outcome) {
      if (finished) return;
      finished = true;
      window.removeEventListener('message', onMessage);
      document.removeEventListener('keydown', onKeyDown, true);
      backdrop.remove();
      for (const element of others) element.inert = false;
      document.body.style.overflow = previousOverflow;
      if (previousFocus instanceof HTMLElement && previousFocus.isConnected && previousFocus !== document.body) {
        previousFocus.focus();
      }
      resolve({ outcome });
    }

    function onMessage(event) {
      if (event.source !== frame.contentWindow || event.origin !== frameOrigin) return;
      const data = event.data;
      if (!data || typeof data !== 'object') return;
      const named = data[kind.field];
      if (named !== undefined && named !== intentID) return;
      if (data.type === 'payments-3ds-result') {
        finish(data.outcome === 'complete' || data.outcome === 'expired' ? data.outcome : 'fail');
      }
      else if (data.type === 'payments-3ds-cancel') finish('cancel');
    }

    function onKeyDown(event) {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        finish('cancel');
      }
    }

    close.addEventListener('click', () => finish('cancel'));
    window.addEventListener('message', onMessage);
    document.addEventListener('keydown', onKeyDown, true);
    document.body.append(backdrop);
    for (const element of others) element.inert = true;
    document.body.style.overflow = 'hidden';
    dialog.focus();
  });
}
