// Flytrap's crash-report dialog, the script GET /api/embed/error-page/
// answers to Sentry.showReportDialog. The server writes the dialog's
// options in place of the config comment below as JSON in which <, >, &,
// U+2028 and U+2029 are escaped. Every string in it came from the page or
// its user, so the dialog is built with createElement and textContent
// only: nothing is ever parsed as HTML.
(function (window, document) {
  'use strict';
  var config = /*FLYTRAP_CONFIG*/ null;
  if (!config || !document.body) {
    return;
  }
  var text = config.strings;
  // The URL the browser loaded this script from, dsn and eventId included:
  // the form posts there. The server's idea of its own address may be
  // wrong behind a proxy; the browser's is not.
  var current = document.currentScript;
  var endpoint = (current && current.src) || config.endpoint;
  var id = 'sentry-error-embed-' + Math.random().toString(36).slice(2);
  var returnFocus = document.activeElement;

  function el(tag, attrs, content) {
    var node = document.createElement(tag);
    for (var name in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, name)) {
        node.setAttribute(name, attrs[name]);
      }
    }
    if (content !== undefined && content !== null) {
      node.textContent = content;
    }
    return node;
  }

  var style = el('style', {}, config.css);

  // <dialog> opened with showModal traps focus, makes the page behind it
  // inert and closes on Escape, which is what a modal needs to be usable
  // with a keyboard and a screen reader.
  var dialog = el('dialog', {
    'class': 'sentry-error-embed',
    'aria-labelledby': id + '-title',
    'aria-describedby': id + '-subtitle'
  });
  var header = el('div', { 'class': 'sentry-error-embed-header' });
  header.appendChild(el('h2', { id: id + '-title' }, text.title));
  var subtitle = el('p', { id: id + '-subtitle' }, text.subtitle);
  if (text.subtitle2) {
    subtitle.appendChild(document.createTextNode(' ' + text.subtitle2));
  }
  header.appendChild(subtitle);
  dialog.appendChild(header);

  var form = el('form', { novalidate: '' });
  var content = el('div', { 'class': 'form-content' });
  var fields = {};
  function field(name, label, type, value, max, placeholder) {
    var wrap = el('div', { 'class': 'form-field' });
    var inputID = id + '-' + name;
    wrap.appendChild(el('label', { 'for': inputID }, label));
    var input = type === 'textarea' ? el('textarea', { rows: '5' }) : el('input', { type: type, autocomplete: name });
    input.id = inputID;
    input.name = name;
    input.required = true;
    input.maxLength = max;
    input.placeholder = placeholder;
    input.value = value || '';
    input.setAttribute('aria-describedby', inputID + '-error');
    wrap.appendChild(input);
    var error = el('p', { id: inputID + '-error', 'class': 'field-error' });
    wrap.appendChild(error);
    content.appendChild(wrap);
    fields[name] = { wrap: wrap, input: input, error: error };
  }
  field('name', text.labelName, 'text', config.name, config.limits.name, 'Jane Bloggs');
  field('email', text.labelEmail, 'email', config.email, config.limits.email, 'jane@example.com');
  field('comments', text.labelComments, 'textarea', '', config.limits.comments, "I clicked on 'X' and then hit 'Confirm'");
  form.appendChild(content);

  var status = el('div', { 'class': 'form-status', role: 'status', 'aria-live': 'polite' });
  form.appendChild(status);
  var actions = el('div', { 'class': 'form-actions' });
  var submit = el('button', { type: 'submit', 'class': 'btn' }, text.labelSubmit);
  var close = el('button', { type: 'button', 'class': 'close' }, text.labelClose);
  actions.appendChild(submit);
  actions.appendChild(close);
  form.appendChild(actions);
  dialog.appendChild(form);

  function say(message, kind) {
    status.textContent = message;
    status.className = 'form-status' + (kind ? ' message-' + kind : '');
  }

  function showErrors(errors) {
    var first = null;
    for (var name in fields) {
      if (!Object.prototype.hasOwnProperty.call(fields, name)) {
        continue;
      }
      var f = fields[name];
      var messages = errors && errors[name];
      if (messages && messages.length) {
        f.wrap.className = 'form-field form-errors';
        f.input.setAttribute('aria-invalid', 'true');
        f.error.textContent = messages.join(' ');
        first = first || f.input;
      } else {
        f.wrap.className = 'form-field';
        f.input.removeAttribute('aria-invalid');
        f.error.textContent = '';
      }
    }
    return first;
  }

  // checkLocally refuses what the server would, before a round trip: the
  // server checks again, with the same words, whatever the browser did.
  function checkLocally() {
    var errors = {};
    var any = false;
    for (var name in fields) {
      if (!Object.prototype.hasOwnProperty.call(fields, name)) {
        continue;
      }
      var input = fields[name].input;
      if (!input.value.replace(/\s+/g, '')) {
        errors[name] = [config.messages[name]];
        any = true;
      } else if (name === 'email' && input.validity && input.validity.typeMismatch) {
        errors[name] = [config.messages.emailInvalid];
        any = true;
      }
    }
    return any ? errors : null;
  }

  var sending = false;
  form.addEventListener('submit', function (event) {
    event.preventDefault();
    if (sending) {
      return;
    }
    var local = checkLocally();
    if (local) {
      showErrors(local).focus();
      say(text.errorFormEntry, 'error');
      return;
    }
    sending = true;
    submit.disabled = true;
    say('');
    var body = [];
    for (var name in fields) {
      if (Object.prototype.hasOwnProperty.call(fields, name)) {
        body.push(name + '=' + encodeURIComponent(fields[name].input.value));
      }
    }
    body.push('url=' + encodeURIComponent(String(window.location.href).slice(0, config.limits.url)));
    var xhr = new XMLHttpRequest();
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) {
        return;
      }
      sending = false;
      submit.disabled = false;
      if (xhr.status === 200) {
        showErrors(null);
        form.removeChild(content);
        actions.removeChild(submit);
        say(text.successMessage, 'success');
        close.focus();
        return;
      }
      var answer = null;
      try {
        answer = JSON.parse(xhr.responseText);
      } catch (e) {
        answer = null;
      }
      if (xhr.status === 400 && answer && answer.errors) {
        var first = showErrors(answer.errors);
        say(text.errorFormEntry, 'error');
        if (first) {
          first.focus();
        }
        return;
      }
      // The text stays in the form, to be sent again once the wait
      // is over.
      say(xhr.status === 429 ? text.errorRateLimited : text.errorGeneric, 'error');
    };
    xhr.open('POST', endpoint, true);
    // A form's own content type: the request is a simple one, sent
    // without a CORS preflight, as Sentry's dialog sends it.
    xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.send(body.join('&'));
  });

  // Closed by the button or Escape: take the dialog away, give the focus
  // back, and tell the SDK, which calls the page's onClose on this message.
  var closed = false;
  function finish() {
    if (closed) {
      return;
    }
    closed = true;
    if (dialog.parentNode) {
      dialog.parentNode.removeChild(dialog);
    }
    if (style.parentNode) {
      style.parentNode.removeChild(style);
    }
    if (returnFocus && returnFocus.focus) {
      returnFocus.focus();
    }
    window.postMessage('__sentry_reportdialog_closed__', '*');
  }
  dialog.addEventListener('close', finish);
  close.addEventListener('click', function () {
    if (typeof dialog.close === 'function' && dialog.open) {
      dialog.close(); // fires close, and so finish
    } else {
      finish();
    }
  });

  (document.head || document.body).appendChild(style);
  document.body.appendChild(dialog);
  if (typeof dialog.showModal === 'function') {
    dialog.showModal();
  } else {
    // A browser without <dialog>: shown, if not modal.
    dialog.setAttribute('open', '');
  }
  fields[config.name ? (config.email ? 'comments' : 'email') : 'name'].input.focus();
})(window, document);
