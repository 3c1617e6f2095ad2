// The checkout page: the client side of "accept card payments without webhooks".
//
// Order of calls, as in the guide: createPaymentMethod → POST /pay {payment_method_id, item} → on
// {requires_action, payment_intent_client_secret}: handleCardAction → POST /pay {payment_intent_id, and its client
// secret} → success or
// the error. Every POST /pay carries an Idempotency-Key made once per checkout attempt and reused when the same
// attempt is sent again (lost answers, a busy server), so a retry never charges twice; the form is disabled from
// the first click until the answer, so a double click sends one attempt. A POST whose answer never came may have
// charged the card: it is kept in this tab's sessionStorage until an answer settles it, and the next Pay (whatever
// the shopper changed meanwhile) or the next load of the page (a reload, Back then Forward) sends it again first, so
// an unclear payment is replayed, never made a second time.
//
// With "save this card for later" ticked, nothing is paid: createPaymentMethod → POST /save-card
// {payment_method_id} (a customer and a SetupIntent for it, server side) → on {requires_action,
// setup_intent_client_secret}: handleCardSetup, after which the card is saved → the saved card's references.

import { Payments } from '/js/payments.js';

// MARK: - Strings

const STRINGS = {
  en: {
    pageTitle: 'Checkout',
    heading: 'Checkout',
    testMode: 'Test mode: no real money moves.',
    noScript: 'This checkout needs JavaScript. Turn it on and reload the page.',
    itemsLegend: 'Choose a product',
    loading: 'Loading…',
    cardLegend: 'Card details',
    numberLabel: 'Card number',
    expiryLabel: 'Expiry date',
    expiryPlaceholder: 'MM / YY',
    expiryHint: 'Month / year, as printed on the card',
    cvcLabel: 'Security code',
    cvcPlaceholder: 'CVC',
    cvcHint: '3 digits on the back (4 on the front for Amex)',
    cvcHintAmex: '4 digits on the front of the card',
    postalLabel: 'Postal code',
    saveCardLabel: 'Save this card for later payments instead of paying now',
    pay: 'Pay',
    payAmount: 'Pay {amount}',
    saveCard: 'Save card',
    processing: 'Processing…',
    statusCreating: 'Checking your card…',
    statusPaying: 'Processing your payment…',
    statusChecking: 'Checking your earlier payment…',
    statusSaving: 'Saving your card…',
    statusAuthenticating: 'Waiting for your card issuer to confirm the payment…',
    statusAuthenticatingCard: 'Waiting for your card issuer to confirm the card…',
    successHeading: 'Payment succeeded',
    successMessage: 'Thank you! Your payment of {amount} for {item} went through.',
    savedHeading: 'Card saved',
    savedMessage: 'Your card ending in {last4} is saved for later payments (customer {customer}). Nothing was charged.',
    reference: 'Payment reference',
    setupReference: 'Setup reference',
    payAgain: 'Make another payment',
    saveAgain: 'Save another card',
    testCardsSummary: 'Test cards',
    testCardSucceeds: 'succeeds',
    testCardAuth: 'asks for 3-D Secure',
    testCardDecline: 'is declined (insufficient funds)',
    testCardsNote: 'Use any future expiry date, any CVC and any postal code.',
    configError: 'The checkout could not be loaded. Reload the page to try again.',
    numberRequired: 'Enter your card number.',
    numberIncomplete: 'Your card number is incomplete.',
    numberInvalid: 'Your card number is invalid.',
    expiryRequired: "Enter your card's expiry date.",
    expiryIncomplete: "Your card's expiry date is incomplete.",
    expiryMonthInvalid: "Your card's expiry month is invalid.",
    expiryPast: "Your card's expiry date is in the past.",
    expiryYearInvalid: "Your card's expiry year is invalid.",
    cvcRequired: "Enter your card's security code.",
    cvcIncomplete: "Your card's security code is incomplete.",
    postalRequired: 'Enter your postal code.',
    postalInvalid: 'Your postal code is invalid.',
    connectionError:
      'Could not reach the server. Check your connection and press Pay again; you will not be charged twice.',
    busyError: 'The payment service is busy. Press Pay again in a moment; you will not be charged twice.',
    genericError: 'The payment could not be completed. Please try again.',
    declined: {
      insufficient_funds: 'Your card has insufficient funds.',
      generic_decline: 'Your card was declined.',
      card_declined: 'Your card was declined.',
      lost_card: 'Your card was declined.',
      stolen_card: 'Your card was declined.',
      fraudulent: 'Your card was declined.',
      do_not_honor: 'Your card was declined.',
      expired_card: 'Your card has expired.',
      incorrect_cvc: "Your card's security code is incorrect.",
      invalid_cvc: "Your card's security code is invalid.",
      incorrect_number: 'Your card number is incorrect.',
      invalid_number: 'Your card number is invalid.',
      invalid_expiry_month: "Your card's expiry month is invalid.",
      invalid_expiry_year: "Your card's expiry year is invalid.",
      incorrect_zip: "Your card's postal code is incorrect.",
      processing_error: 'An error occurred while processing your card. Try again in a little bit.',
      card_velocity_exceeded: 'Your card was declined for making repeated attempts too frequently.',
      authentication_required: 'Your card was declined. This transaction requires authentication.',
      payment_intent_authentication_failure:
        'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
      setup_intent_authentication_failure:
        'We are unable to authenticate your payment method. Please choose a different payment method and try again.',
      payment_intent_payment_attempt_expired: 'The payment took too long to complete. Please try again.',
      setup_intent_setup_attempt_expired: 'Saving the card took too long to complete. Please try again.',
    },
  },
  ja: {
    pageTitle: 'お支払い',
    heading: 'お支払い',
    testMode: 'テストモード: 実際のお金は動きません。',
    noScript: 'このページには JavaScript が必要です。有効にしてから再読み込みしてください。',
    itemsLegend: '商品を選んでください',
    loading: '読み込み中…',
    cardLegend: 'カード情報',
    numberLabel: 'カード番号',
    expiryLabel: '有効期限',
    expiryPlaceholder: 'MM / YY',
    expiryHint: 'カードに記載の 月 / 年',
    cvcLabel: 'セキュリティコード',
    cvcPlaceholder: 'CVC',
    cvcHint: 'カード裏面の 3 桁 (Amex は表面の 4 桁)',
    cvcHintAmex: 'カード表面の 4 桁',
    postalLabel: '郵便番号',
    saveCardLabel: '今は支払わずに、このカードを今後のお支払いのために保存する',
    pay: '支払う',
    payAmount: '{amount} を支払う',
    saveCard: 'カードを保存',
    processing: '処理中…',
    statusCreating: 'カードを確認しています…',
    statusPaying: 'お支払いを処理しています…',
    statusChecking: '前回のお支払いを確認しています…',
    statusSaving: 'カードを保存しています…',
    statusAuthenticating: 'カード発行会社による確認を待っています…',
    statusAuthenticatingCard: 'カード発行会社によるカードの確認を待っています…',
    successHeading: 'お支払いが完了しました',
    successMessage: 'ありがとうございます。{item} の代金 {amount} のお支払いが完了しました。',
    savedHeading: 'カードを保存しました',
    savedMessage: '末尾 {last4} のカードを今後のお支払いのために保存しました (顧客 {customer})。請求は発生していません。',
    reference: 'お支払い番号',
    setupReference: '保存の番号',
    payAgain: '別のお支払いをする',
    saveAgain: '別のカードを保存する',
    testCardsSummary: 'テスト用カード',
    testCardSucceeds: '成功します',
    testCardAuth: '3-D セキュア認証を求めます',
    testCardDecline: '拒否されます (残高不足)',
    testCardsNote: '有効期限は未来の日付、セキュリティコードと郵便番号は任意の値を使えます。',
    configError: 'お支払いページを読み込めませんでした。ページを再読み込みしてください。',
    numberRequired: 'カード番号を入力してください。',
    numberIncomplete: 'カード番号が最後まで入力されていません。',
    numberInvalid: 'カード番号が正しくありません。',
    expiryRequired: '有効期限を入力してください。',
    expiryIncomplete: '有効期限が最後まで入力されていません。',
    expiryMonthInvalid: '有効期限の月が正しくありません。',
    expiryPast: '有効期限が過ぎています。',
    expiryYearInvalid: '有効期限の年が正しくありません。',
    cvcRequired: 'セキュリティコードを入力してください。',
    cvcIncomplete: 'セキュリティコードが最後まで入力されていません。',
    postalRequired: '郵便番号を入力してください。',
    postalInvalid: '郵便番号が正しくありません。',
    connectionError: 'サーバーに接続できませんでした。接続を確認して、もう一度「支払う」を押してください。二重に請求されることはありません。',
    busyError: '決済サービスが混み合っています。少し待ってから、もう一度「支払う」を押してください。二重に請求されることはありません。',
    genericError: 'お支払いを完了できませんでした。もう一度お試しください。',
    declined: {
      insufficient_funds: 'カードの残高が不足しています。',
      generic_decline: 'カードが拒否されました。',
      card_declined: 'カードが拒否されました。',
      lost_card: 'カードが拒否されました。',
      stolen_card: 'カードが拒否されました。',
      fraudulent: 'カードが拒否されました。',
      do_not_honor: 'カードが拒否されました。',
      expired_card: 'カードの有効期限が切れています。',
      incorrect_cvc: 'セキュリティコードが間違っています。',
      invalid_cvc: 'セキュリティコードが正しくありません。',
      incorrect_number: 'カード番号が間違っています。',
      invalid_number: 'カード番号が正しくありません。',
      invalid_expiry_month: '有効期限の月が正しくありません。',
      invalid_expiry_year: '有効期限の年が正しくありません。',
      incorrect_zip: '郵便番号が間違っています。',
      processing_error: 'カードの処理中にエラーが発生しました。しばらくしてからもう一度お試しください。',
      card_velocity_exceeded: '短時間に何度も試されたため、カードが拒否されました。',
      authentication_required: 'カードが拒否されました。この取引には本人認証が必要です。',
      payment_intent_authentication_failure:
        'お支払い方法を認証できませんでした。別のお支払い方法を選んで、もう一度お試しください。',
      setup_intent_authentication_failure:
        'お支払い方法を認証できませんでした。別のお支払い方法を選んで、もう一度お試しください。',
      payment_intent_payment_attempt_expired: 'お支払いの完了までに時間がかかりすぎました。もう一度お試しください。',
      setup_intent_setup_attempt_expired: 'カードの保存までに時間がかかりすぎました。もう一度お試しください。',
    },
  },
};

const BRAND_NAMES = {
  visa: 'Visa',
  mastercard: 'Mastercard',
  amex: 'American Express',
  discover: 'Discover',
  jcb: 'JCB',
  diners: 'Diners Club',
  unionpay: 'UnionPay',
};

/** The badge's text on a narrow screen, where the full name would cover the number's last digits. */
const BRAND_SHORT_NAMES = { ...BRAND_NAMES, amex: 'Amex', diners: 'Diners', mastercard: 'MC', unionpay: 'UPI' };

/** `ja` when the browser prefers Japanese before English, else `en`; `?lang=ja|en` overrides (demos). */
function pickLanguage() {
  const forced = new URLSearchParams(location.search).get('lang');
  const candidates = forced ? [forced] : (navigator.languages ?? [navigator.language ?? 'en']);
  for (const tag of candidates) {
    const primary = String(tag).toLowerCase().split('-')[0];
    if (primary === 'ja' || primary === 'en') return primary;
  }
  return 'en';
}

const lang = pickLanguage();
const t = STRINGS[lang];

function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, name) => values[name] ?? '');
}

// MARK: - Cards

/**
 * The card brand from the number's first digits (the networks' published ranges, as Stripe detects them).
 * @param {string} digits
 */
export function cardBrand(digits) {
  if (/^4/.test(digits)) return 'visa';
  if (/^(5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)/.test(digits)) return 'mastercard';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^(6011|64[4-9]|65)/.test(digits)) return 'discover';
  if (/^35(2[89]|[3-8])/.test(digits)) return 'jcb';
  if (/^(30[0-5]|309|36|3[89])/.test(digits)) return 'diners';
  if (/^(62|81)/.test(digits)) return 'unionpay';
  return '';
}

/** The lengths a brand's numbers have. */
function cardLengths(brand) {
  switch (brand) {
    case 'amex':
      return [15];
    case 'diners':
      return [14, 16];
    case 'visa':
      return [13, 16, 19];
    case 'mastercard':
      return [16];
    case 'discover':
    case 'jcb':
    case 'unionpay':
      return [16, 17, 18, 19];
    default:
      return [12, 13, 14, 15, 16, 17, 18, 19];
  }
}

/** Groups digits as printed on the card: 4-6-5 for Amex, 4-6-4 for 14-digit Diners, else fours. */
function groupDigits(digits, brand) {
  let sizes;
  if (brand === 'amex') sizes = [4, 6, 5];
  else if (brand === 'diners' && digits.length <= 14) sizes = [4, 6, 4];
  else sizes = [4, 4, 4, 4, 3];
  const groups = [];
  let at = 0;
  for (const size of sizes) {
    if (at >= digits.length) break;
    groups.push(digits.slice(at, at + size));
    at += size;
  }
  return groups.join(' ');
}

/** The Luhn checksum of a card number. */
export function luhnValid(digits) {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** `{month, year}` (year with four digits) from what is in the expiry field, or nulls. */
function parseExpiry(value) {
  const long = /^\s*(\d{1,2})\s*\/\s*(\d{4})\s*$/.exec(value);
  if (long) return { month: Number(long[1]), year: Number(long[2]), complete: true };
  const digits = value.replace(/\D/g, '');
  if (digits.length < 4) return { month: null, year: null, complete: false };
  return { month: Number(digits.slice(0, 2)), year: 2000 + Number(digits.slice(2, 4)), complete: true };
}

// MARK: - Elements

const $ = (id) => document.getElementById(id);
const form = $('payment-form');
const controls = $('controls');
const itemsBox = $('items');
const payButton = $('pay');
const payLabel = $('pay-label');
const formError = $('form-error');
const statusLine = $('status');
const success = $('success');
const saveCardBox = $('save-card');

const fields = {
  number: { input: $('card-number'), error: $('card-number-error') },
  expiry: { input: $('card-expiry'), error: $('card-expiry-error') },
  cvc: { input: $('card-cvc'), error: $('card-cvc-error') },
  postal: { input: $('postal-code'), error: $('postal-code-error') },
};
const FIELD_ORDER = ['number', 'expiry', 'cvc', 'postal'];

function translatePage() {
  document.documentElement.lang = lang;
  for (const element of document.querySelectorAll('[data-i18n]')) {
    const value = t[element.dataset.i18n];
    if (typeof value === 'string') element.textContent = value;
  }
  for (const element of document.querySelectorAll('[data-i18n-placeholder]')) {
    const value = t[element.dataset.i18nPlaceholder];
    if (typeof value === 'string') element.placeholder = value;
  }
}

// MARK: - Formatting as typed

/** Puts the caret after the `digitCount`-th digit of `input`'s value. */
function placeCaret(input, digitCount) {
  if (document.activeElement !== input) return;
  let position = 0;
  let seen = 0;
  const value = input.value;
  while (position < value.length && seen < digitCount) {
    if (/\d/.test(value[position])) seen++;
    position++;
  }
  input.setSelectionRange(position, position);
}

function digitsBeforeCaret(input) {
  const caret = input.selectionStart ?? input.value.length;
  return input.value.slice(0, caret).replace(/\D/g, '').length;
}

function currentBrand() {
  return cardBrand(fields.number.input.value.replace(/\D/g, ''));
}

/**
 * Makes the field's text half-width (NFKC): a Japanese input method types full-width digits (`４２４２`) and slash,
 * which the formatters below would otherwise drop as non-digits.
 */
function halfWidth(input) {
  const normalized = input.value.normalize('NFKC');
  if (normalized !== input.value) input.value = normalized;
}

function formatNumber() {
  const input = fields.number.input;
  halfWidth(input);
  const before = digitsBeforeCaret(input);
  let digits = input.value.replace(/\D/g, '');
  const brand = cardBrand(digits);
  digits = digits.slice(0, Math.max(...cardLengths(brand)));
  const formatted = groupDigits(digits, brand);
  if (formatted !== input.value) {
    input.value = formatted;
    placeCaret(input, before);
  }
  showBrand(brand);
}

function showBrand(brand) {
  const badge = $('card-brand');
  if (badge.dataset.brand !== brand) {
    badge.dataset.brand = brand;
    badge.textContent = brand ? BRAND_NAMES[brand] : '';
    badge.dataset.short = brand ? BRAND_SHORT_NAMES[brand] : '';
  }
  const cvc = fields.cvc.input;
  const size = brand === 'amex' ? 4 : 3;
  cvc.maxLength = brand ? size : 4;
  cvc.placeholder = brand === 'amex' ? '1234' : t.cvcPlaceholder;
  $('card-cvc-hint').textContent = brand === 'amex' ? t.cvcHintAmex : t.cvcHint;
  if (brand && cvc.value.length > size) cvc.value = cvc.value.slice(0, size);
}

function formatExpiry(event) {
  const input = fields.expiry.input;
  halfWidth(input);
  const deleting = event && typeof event.inputType === 'string' && event.inputType.startsWith('delete');
  const long = /^\s*(\d{1,2})\s*\/\s*(\d{4})\s*$/.exec(input.value);
  // A one-digit month ended by a separator (`1/`, `1 `) is that month: `1/30` is January 2030, not `13 / 0`.
  const shortMonth = /^\s*(\d)\s*[/\-. ]\s*(\d*)\s*$/.exec(input.value);
  let digits;
  if (long) digits = long[1].padStart(2, '0') + long[2].slice(2);
  else if (shortMonth) digits = '0' + shortMonth[1] + shortMonth[2];
  else digits = input.value.replace(/\D/g, '');
  if (digits.length === 1 && Number(digits) > 1) digits = '0' + digits;
  // A year typed in full (`12 / 2030`, key by key): keep its digits until it is whole, then show it as two.
  const yearInFull = digits.length > 4 && digits.slice(2, 4) === '20';
  digits = digits.slice(0, yearInFull ? 6 : 4);
  if (digits.length === 6) digits = digits.slice(0, 2) + digits.slice(4);
  let formatted;
  if (digits.length > 2) formatted = `${digits.slice(0, 2)} / ${digits.slice(2)}`;
  else if (digits.length === 2 && !deleting) formatted = `${digits} / `;
  else formatted = digits;
  if (formatted !== input.value) input.value = formatted;
}

function formatCVC() {
  const input = fields.cvc.input;
  halfWidth(input);
  const digits = input.value.replace(/\D/g, '').slice(0, input.maxLength > 0 ? input.maxLength : 4);
  if (digits !== input.value) input.value = digits;
}

// MARK: - Validation

/** The message key for the field's problem, or null when it is fine. */
function problem(name) {
  const value = fields[name].input.value.trim();
  switch (name) {
    case 'number': {
      const digits = value.replace(/\D/g, '');
      if (!digits) return 'numberRequired';
      const lengths = cardLengths(cardBrand(digits));
      if (digits.length < Math.min(...lengths)) return 'numberIncomplete';
      if (!lengths.includes(digits.length) || !luhnValid(digits)) return 'numberInvalid';
      return null;
    }
    case 'expiry': {
      if (!value) return 'expiryRequired';
      const { month, year, complete } = parseExpiry(value);
      if (!complete) return 'expiryIncomplete';
      if (month < 1 || month > 12) return 'expiryMonthInvalid';
      const now = new Date();
      const thisYear = now.getFullYear();
      if (year < thisYear || (year === thisYear && month < now.getMonth() + 1)) return 'expiryPast';
      if (year > thisYear + 50) return 'expiryYearInvalid';
      return null;
    }
    case 'cvc': {
      if (!value) return 'cvcRequired';
      const size = currentBrand() === 'amex' ? 4 : 3;
      if (!/^\d+$/.test(value) || value.length < size) return 'cvcIncomplete';
      return null;
    }
    case 'postal': {
      if (!value) return 'postalRequired';
      if (!/^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$/.test(value)) return 'postalInvalid';
      return null;
    }
    default:
      return null;
  }
}

function setFieldError(name, message) {
  const { input, error } = fields[name];
  error.textContent = message ?? '';
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  input.closest('.field').classList.toggle('invalid', Boolean(message));
}

function validateField(name) {
  const key = problem(name);
  setFieldError(name, key ? t[key] : null);
  return !key;
}

/** Validates every field; shows each problem beside its field and focuses the first invalid one. */
function validateAll() {
  let first = null;
  for (const name of FIELD_ORDER) {
    if (!validateField(name) && !first) first = name;
  }
  if (first) fields[first].input.focus();
  return !first;
}

// MARK: - Catalogue

let config = null;
let payments = null;

/**
 * How many of an amount's digits are fractional in `currency`: the server's rule (Stripe's), from the config. Not
 * the browser's: `Intl` says HUF, IDR, ISK, UGX and ten more have none, where Stripe takes their amounts with two, and
 * the page showed a HUF 200.00 item as "HUF 20,000".
 */
function minorUnitDigits(currency) {
  return config?.minor_unit_digits?.[currency.toLowerCase()] ?? 2;
}

/**
 * An amount in minor units as a price: its fraction shown with the currency's digits, and none for a whole amount
 * in a currency the browser writes without them ("HUF 200", "ISK 10", but "HUF 200.50").
 */
function formatAmount(amount, currency) {
  const code = currency.toUpperCase();
  const digits = minorUnitDigits(currency);
  const value = amount / 10 ** digits;
  try {
    const locale = lang === 'ja' ? 'ja-JP' : 'en-US';
    const usual = new Intl.NumberFormat(locale, { style: 'currency', currency: code }).resolvedOptions();
    const shown = amount % 10 ** digits === 0 ? Math.min(digits, usual.maximumFractionDigits) : digits;
    return new Intl.NumberFormat(locale, {
      style: 'currency',
      currency: code,
      minimumFractionDigits: shown,
      maximumFractionDigits: Math.max(shown, digits),
    }).format(value);
  } catch {
    return `${value.toFixed(digits)} ${code}`;
  }
}

function selectedItem() {
  const checked = itemsBox.querySelector('input[name="item"]:checked');
  return config.items.find((item) => item.id === checked?.value) ?? config.items[0];
}

function updatePayLabel() {
  if (saveCardBox.checked) {
    payLabel.textContent = t.saveCard;
    return;
  }
  const item = config ? selectedItem() : null;
  payLabel.textContent = item ? format(t.payAmount, { amount: formatAmount(item.amount, item.currency) }) : t.pay;
}

/** Saving the card pays for nothing: the product choice is off while the box is ticked. */
function updateMode() {
  $('items-group').disabled = saveCardBox.checked;
  updatePayLabel();
}

function renderItems() {
  itemsBox.replaceChildren();
  for (const item of config.items) {
    const label = document.createElement('label');
    label.className = 'item';
    const radio = document.createElement('input');
    radio.type = 'radio';
    radio.name = 'item';
    radio.value = item.id;
    radio.checked = item.id === config.default_item;
    const name = document.createElement('span');
    name.className = 'item-name';
    name.textContent = item.name;
    const price = document.createElement('span');
    price.className = 'item-price';
    price.textContent = formatAmount(item.amount, item.currency);
    label.append(radio, name, price);
    itemsBox.append(label);
  }
  if (!itemsBox.querySelector('input:checked')) itemsBox.querySelector('input')?.click();
  itemsBox.addEventListener('change', updatePayLabel);
  updatePayLabel();
}

// MARK: - Paying

let busy = false;
/** The checkout attempt in progress, kept after a failure that may not have reached the server. */
let attempt = null;
/** How often one POST /pay is sent again after a lost answer or a busy server, and how long it waits first. */
const PAY_RETRIES = 3;
const RETRY_DELAYS_MS = [400, 1000, 2000];
/** How long one POST may go unanswered before the page says it cannot tell (a hung server, a stalled network). */
const REQUEST_TIMEOUT_MS = 30000;

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setBusy(on) {
  busy = on;
  controls.disabled = on;
  form.setAttribute('aria-busy', on ? 'true' : 'false');
  form.classList.toggle('busy', on);
  if (on) payLabel.textContent = t.processing;
  else {
    updatePayLabel();
    statusLine.textContent = '';
  }
}

function setStatus(key) {
  statusLine.textContent = t[key];
}

/**
 * `POST path` (`/pay` or `/save-card`) with the attempt's key. Sends the same request again (same key, same body)
 * when the answer was lost or the server was busy, so it runs at most once. Resolves the seed's response object;
 * `transient` marks an answer that did not settle the attempt.
 */
async function postToServer(path, body, key) {
  for (let tries = 0; ; tries++) {
    let response;
    try {
      response = await fetch(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key },
        body: JSON.stringify(body),
        cache: 'no-store',
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      // A request that timed out is not sent again at once: the server did not answer it, so it is kept
      // unsettled for the shopper's next Pay (or the next load of the page) to settle.
      if (error?.name === 'TimeoutError') return { error: { message: t.connectionError }, transient: true };
      if (tries < PAY_RETRIES) {
        await sleep(RETRY_DELAYS_MS[tries]);
        continue;
      }
      return { error: { message: t.connectionError }, transient: true };
    }
    // Any 5xx too: the request may have run part way (the network asked, its answer not recorded; the server says
    // so with Stripe-Should-Retry), and only the same key, sent again, settles it. Dropping the key on a 500 made
    // the shopper's next Pay a second payment.
    const retryable = response.status === 409 || response.status === 429 || response.status >= 500;
    if (retryable && tries < PAY_RETRIES) {
      await sleep(RETRY_DELAYS_MS[tries]);
      continue;
    }
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (retryable) return { error: { message: t.busyError }, transient: true };
    if (answer && typeof answer === 'object') return answer;
    return { error: { message: t.genericError } };
  }
}

// MARK: - Requests not answered yet

/**
 * Where this tab keeps the request whose answer it has not had: `{path, body, key, summary, item, last4}`. Never the
 * card's number or CVC: a browser may write session storage to disk (to restore the session).
 */
const UNSETTLED = 'payments-checkout-unsettled';

function loadUnsettled() {
  try {
    return JSON.parse(sessionStorage.getItem(UNSETTLED) ?? 'null');
  } catch {
    return null;
  }
}

function storeUnsettled(request) {
  try {
    if (request) sessionStorage.setItem(UNSETTLED, JSON.stringify(request));
    else sessionStorage.removeItem(UNSETTLED);
  } catch {
    // Storage off (a private window's quota): the attempt in memory still covers retries without a reload.
  }
}

/**
 * `postToServer`, with the request kept as unsettled until an answer settles it (one that is not `transient`).
 * `context` is what the page needs to show its outcome later: the attempt's summary, the item, the card's last 4.
 */
async function send(path, body, key, context) {
  storeUnsettled({ path, body, key, ...context });
  const response = await postToServer(path, body, key);
  if (!response.transient) storeUnsettled(null);
  return response;
}

/**
 * Sends the unsettled request again (same key, same body: the server replays what it did). Resolves `{result}` as
 * `pay()`/`saveCard()` do when it paid or saved, `{error}` when it settled without (a decline; or a payment still
 * waiting for its challenge, which expires unanswered: nothing charged), or `{error, transient}` while the server
 * still cannot say.
 */
async function settle(unsettled) {
  const response = await postToServer(unsettled.path, unsettled.body, unsettled.key);
  if (response.transient) return { error: response.error, transient: true };
  storeUnsettled(null);
  attempt = null;
  if (response.success && unsettled.path === '/pay') {
    return { result: { paymentIntent: response.payment_intent, charged: chargedOf(response) } };
  }
  if (response.success) {
    return { result: { setupIntent: response.setup_intent, customer: response.customer, last4: unsettled.last4 } };
  }
  return { error: response.error ?? null };
}

/** A fingerprint of what this attempt does; another card, item or choice to save is another attempt. */
function attemptSignature(values) {
  return JSON.stringify([
    values.number,
    values.expMonth,
    values.expYear,
    values.cvc,
    values.postal,
    values.item,
    values.save,
  ]);
}

/**
 * What an attempt is for, without card data, to be kept in session storage: the card's last 4 digits, the item and
 * the choice to save. A different summary means the shopper changed something since.
 */
function attemptSummary(values) {
  return JSON.stringify([values.number.slice(-4), values.item, values.save]);
}

function readValues() {
  const expiry = parseExpiry(fields.expiry.input.value);
  return {
    number: fields.number.input.value.replace(/\D/g, ''),
    expMonth: expiry.month,
    expYear: expiry.year,
    cvc: fields.cvc.input.value.trim(),
    postal: fields.postal.input.value.trim(),
    item: selectedItem().id,
    save: saveCardBox.checked,
  };
}

/**
 * The attempt for `values`: the one in progress when it is for the same thing, else a new one with its own key.
 * Makes the attempt's PaymentMethod first, once. Resolves the attempt, or `{error}`.
 */
async function startAttempt(values) {
  const signature = attemptSignature(values);
  if (!attempt || attempt.signature !== signature) attempt = { key: uuid(), signature, paymentMethod: null };
  const current = attempt;
  if (!current.paymentMethod) {
    setStatus('statusCreating');
    const { paymentMethod, error } = await payments.createPaymentMethod({
      type: 'card',
      card: { number: values.number, exp_month: values.expMonth, exp_year: values.expYear, cvc: values.cvc },
      billing_details: { address: { postal_code: values.postal } },
    });
    if (error) {
      attempt = null;
      // Over the rate limit: the page's own words, not the API's advice to developers about backoff
      return { error: error.code === 'rate_limit' ? { message: t.busyError } : error };
    }
    current.paymentMethod = paymentMethod.id;
  }
  return current;
}

/**
 * Runs one checkout attempt in the seed's order. Resolves `{paymentIntent}` on success or `{error, field?}`.
 */
async function pay(values) {
  const current = await startAttempt(values);
  if (current.error) return current;

  setStatus('statusPaying');
  const body = { payment_method_id: current.paymentMethod, item: values.item };
  const context = { summary: attemptSummary(values), item: selectedItem() };
  let response = await send('/pay', body, current.key, context);
  for (let round = 1; ; round++) {
    if (response.transient) return { error: response.error };
    if (response.error) {
      attempt = null;
      return { error: response.error };
    }
    if (response.requires_action && round <= 3) {
      setStatus('statusAuthenticating');
      const { error, paymentIntent } = await payments.handleCardAction(response.payment_intent_client_secret);
      if (error) {
        attempt = null;
        return { error };
      }
      setStatus('statusPaying');
      response = await send(
        '/pay',
        { payment_intent_id: paymentIntent.id, payment_intent_client_secret: response.payment_intent_client_secret },
        `${current.key}:confirm:${round}`,
        context,
      );
      continue;
    }
    attempt = null;
    if (response.success) return { paymentIntent: response.payment_intent, charged: chargedOf(response) };
    return { error: { message: t.genericError } };
  }
}

/**
 * Saves the card for later payments instead of paying: POST /save-card, then the card's 3-D Secure when it asks.
 * Resolves `{setupIntent, customer, last4}` once the card is saved, or `{error}`.
 */
async function saveCard(values) {
  const current = await startAttempt(values);
  if (current.error) return current;

  setStatus('statusSaving');
  const response = await send('/save-card', { payment_method_id: current.paymentMethod }, current.key, {
    summary: attemptSummary(values),
    last4: values.number.slice(-4),
  });
  if (response.transient) return { error: response.error };
  attempt = null;
  if (response.error) return { error: response.error };
  const saved = { customer: response.customer, last4: values.number.slice(-4) };
  if (response.requires_action) {
    setStatus('statusAuthenticatingCard');
    const { error, setupIntent } = await payments.handleCardSetup(response.setup_intent_client_secret);
    if (error) return { error };
    return { ...saved, setupIntent: setupIntent.id };
  }
  if (response.success) return { ...saved, setupIntent: response.setup_intent };
  return { error: { message: t.genericError } };
}

/** The form field an API error is about, if any. */
function fieldOf(error) {
  const byParam = {
    'card[number]': 'number',
    'card[exp_month]': 'expiry',
    'card[exp_year]': 'expiry',
    'card[cvc]': 'cvc',
    'billing_details[address][postal_code]': 'postal',
  };
  if (error.param && byParam[error.param]) return byParam[error.param];
  const byCode = {
    incorrect_number: 'number',
    invalid_number: 'number',
    invalid_expiry_month: 'expiry',
    invalid_expiry_year: 'expiry',
    expired_card: 'expiry',
    incorrect_cvc: 'cvc',
    invalid_cvc: 'cvc',
    incorrect_zip: 'postal',
  };
  return byCode[error.code] ?? null;
}

/** The customer-facing message: ours for known decline and error codes (in the page's language), else the server's. */
function messageOf(error) {
  return t.declined[error.decline_code] ?? t.declined[error.code] ?? error.message ?? t.genericError;
}

function showError(error) {
  const message = messageOf(error);
  const field = fieldOf(error);
  formError.textContent = message;
  if (field) {
    setFieldError(field, message);
    fields[field].input.focus();
  } else {
    payButton.focus();
  }
}

/** What `/pay` says it charged (`{amount, currency}`), or null from a server that does not say. */
function chargedOf(response) {
  const { amount, currency } = response;
  return Number.isInteger(amount) && typeof currency === 'string' ? { amount, currency } : null;
}

/** The receipt: the amount the server charged, which is the item's shown price unless the price changed since. */
function showSuccess(paymentIntentID, item, charged) {
  const paid = charged ?? item;
  showDone(t.successHeading, format(t.successMessage, {
    amount: formatAmount(paid.amount, paid.currency),
    item: item.name,
  }), t.reference, paymentIntentID, t.payAgain);
}

/** The saved card's receipt; its button offers another card (the form stays on saving, not paying). */
function showSaved(saved) {
  showDone(t.savedHeading, format(t.savedMessage, saved), t.setupReference, saved.setupIntent, t.saveAgain);
}

/** Replaces the form with the outcome: a heading, a message, a reference and what the button below it does next. */
function showDone(heading, message, referenceLabel, reference, again) {
  form.hidden = true;
  $('again').textContent = again;
  $('success-heading').textContent = heading;
  $('success-message').textContent = message;
  $('reference-label').textContent = referenceLabel;
  $('payment-intent-id').textContent = reference;
  success.hidden = false;
  $('success-heading').focus();
}

async function onSubmit(event) {
  event.preventDefault();
  if (busy || !payments) return;
  formError.textContent = '';
  if (!validateAll()) return;
  const values = readValues();
  let item = selectedItem();
  setBusy(true);
  let result;
  try {
    const unsettled = loadUnsettled();
    // An earlier request may have charged the card: settle it before anything else, even if the shopper has
    // changed the card or the item since (a new attempt would be a second payment).
    const earlier = unsettled ? await settleEarlier(unsettled) : null;
    if (earlier?.result) item = unsettled.item ?? item;
    // Settled without paying: a decline is shown, unless the shopper has changed something since (then this is a
    // new attempt); a payment that only waited for its challenge charged nothing, so the shopper pays anew.
    const again =
      earlier &&
      !earlier.result &&
      !earlier.transient &&
      (!earlier.error || unsettled.summary !== attemptSummary(values));
    if (earlier && !again) result = earlier.result ?? { error: earlier.error ?? { message: t.genericError } };
    else result = values.save ? await saveCard(values) : await pay(values);
  } catch (error) {
    result = { error: { message: t.genericError } };
    console.error(error);
  }
  setBusy(false);
  if (result.paymentIntent) showSuccess(result.paymentIntent, item, result.charged);
  else if (result.setupIntent) showSaved(result);
  else showError(result.error);
}

/** `settle(unsettled)`, telling the shopper what the page is doing. */
async function settleEarlier(unsettled) {
  setStatus('statusChecking');
  return settle(unsettled);
}

/**
 * On load: a request this tab sent before a reload (or Back) that never got its answer is settled first; its
 * payment is shown if it went through, else the form is ready as usual.
 */
async function resumeUnsettled() {
  const unsettled = loadUnsettled();
  if (!unsettled) return;
  setBusy(true);
  let earlier;
  try {
    earlier = await settleEarlier(unsettled);
  } catch (error) {
    console.error(error);
    earlier = { error: { message: t.genericError }, transient: true };
  }
  setBusy(false);
  if (earlier.result?.paymentIntent) {
    // What the server charged, as after a Pay: the price may have changed since the page loaded
    showSuccess(earlier.result.paymentIntent, unsettled.item ?? selectedItem(), earlier.result.charged);
  }
  else if (earlier.result?.setupIntent) showSaved(earlier.result);
  else if (earlier.transient) formError.textContent = messageOf(earlier.error);
}

function resetForNextPayment() {
  for (const name of FIELD_ORDER) {
    fields[name].input.value = '';
    setFieldError(name, null);
  }
  showBrand('');
  formError.textContent = '';
  success.hidden = true;
  form.hidden = false;
  fields.number.input.focus();
}

// MARK: - Wiring

function wire() {
  fields.number.input.addEventListener('input', formatNumber);
  fields.expiry.input.addEventListener('input', formatExpiry);
  fields.cvc.input.addEventListener('input', formatCVC);
  fields.postal.input.addEventListener('input', () => halfWidth(fields.postal.input));
  for (const name of FIELD_ORDER) {
    const { input } = fields[name];
    // Problems show when leaving a filled field, and go away as soon as the value is right.
    input.addEventListener('blur', () => {
      if (input.value.trim() && !busy) validateField(name);
    });
    input.addEventListener('input', () => {
      if (input.getAttribute('aria-invalid') === 'true' && !problem(name)) setFieldError(name, null);
    });
  }
  form.addEventListener('submit', onSubmit);
  // Pressing Pay does not take the focus first: the field it left showed its error above the button, which moved
  // down from under the pointer, and the click missed it (nothing happened). Pay checks every field itself.
  payButton.addEventListener('mousedown', (event) => event.preventDefault());
  saveCardBox.addEventListener('change', updateMode);
  $('again').addEventListener('click', resetForNextPayment);
}

async function start() {
  translatePage();
  wire();
  try {
    const response = await fetch('/checkout/config.json', { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    config = await response.json();
    if (!Array.isArray(config.items) || config.items.length === 0) throw new Error('no items');
    payments = Payments(config.publishable_key, { baseUrl: location.origin, locale: lang });
  } catch (error) {
    console.error('checkout config', error);
    $('items-loading').textContent = '';
    formError.textContent = t.configError;
    return;
  }
  renderItems();
  const testMode = String(config.publishable_key).startsWith('pk_test_');
  $('test-mode').hidden = !testMode;
  $('test-cards').hidden = !testMode;
  controls.disabled = false;
  await resumeUnsettled();
  form.dataset.ready = 'true';
}

start();
