// dsnlink — Centre de maintenance. Our own small script (no framework, no CDN): loaded by every
// page with `defer`; each feature looks for its elements and does nothing when they are absent.
"use strict";

(function () {
  // Forms marked data-confirm ask before submitting (delete, disable).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form instanceof HTMLFormElement && form.dataset.confirm) {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    }
  });

  const form = document.getElementById("form-identite");
  if (!form) {
    return;
  }
  const field = (name) => form.querySelector('[name="' + name + '"]');

  function values() {
    return {
      siret: field("siret").value,
      nom: field("nom").value,
      prenom: field("prenom").value,
      password: field("password").value || null,
      environment: field("environment").value,
    };
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  // --- the linter, live as the user types ------------------------------------------------
  let lintTimer = null;
  let lintSeq = 0;

  function showLint(report) {
    for (const box of form.querySelectorAll(".lint")) {
      box.replaceChildren();
      box.className = "lint pleine";
    }
    for (const f of report.fields) {
      const box = form.querySelector('.lint[data-for="' + f.field + '"]');
      if (!box || (f.findings.length === 0 && !f.cleaned_visible)) continue;
      const worst = f.findings.some((x) => x.severity === "error") ? "erreur" : "avertissement";
      box.classList.add(worst);
      box.appendChild(el("div", "visible", "Envoyé tel quel : " + f.visible));
      const list = el("ul", "constats");
      for (const finding of f.findings) {
        list.appendChild(el("li", finding.severity === "error" ? "erreur" : "avertissement",
          finding.message));
      }
      box.appendChild(list);
      if (f.cleaned_visible) {
        box.appendChild(el("div", "propose", "Valeur proposée : " + f.cleaned_visible));
      }
    }
  }

  async function lint() {
    const seq = ++lintSeq;
    const v = values();
    const body = {
      siret: v.siret, nom: v.nom, prenom: v.prenom, password: v.password,
      previous_nom: form.dataset.previousNom || null,
      previous_prenom: form.dataset.previousPrenom || null,
    };
    const answer = await fetch("/api/v1/lint/identity", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!answer.ok || seq !== lintSeq) return;
    showLint(await answer.json());
  }

  form.addEventListener("input", function () {
    clearTimeout(lintTimer);
    lintTimer = setTimeout(lint, 150);
  });
  if (values().siret || values().nom) {
    lint();
  }

  // --- « Tester la connexion »: each step appears as it ends ------------------------------
  const SYMBOLS = { ok: "✓", warning: "⚠", failure: "✗", skipped: "–" };
  const LABELS = { ok: "réussi", warning: "avertissement", failure: "échec", skipped: "non lancé" };
  const button = document.getElementById("tester");
  const panel = document.getElementById("test-connexion");
  const steps = document.getElementById("etapes");
  const marks = document.getElementById("coches");
  const summary = document.getElementById("test-bilan");

  function stepItem(step) {
    const li = el("li", "etape " + step.status);
    li.dataset.step = step.id;
    li.dataset.status = step.status;
    const mark = el("span", "marque", SYMBOLS[step.status] || "?");
    mark.setAttribute("aria-label", LABELS[step.status] || step.status);
    li.appendChild(mark);
    li.appendChild(el("span", "titre", (step.group ? step.group + " — " : "") + step.title));
    li.appendChild(el("span", "duree", step.duration_ms.toLocaleString("fr-FR") + " ms"));
    li.appendChild(el("div", "detail", step.detail));
    if (step.remedy) li.appendChild(el("div", "remede", "À faire : " + step.remedy));
    return li;
  }

  function showReport(report) {
    marks.replaceChildren();
    for (const m of report.marks) {
      const li = el("li", "coche " + m.status);
      li.dataset.mark = m.id;
      li.dataset.status = m.status;
      const mark = el("span", "marque", SYMBOLS[m.status] || "?");
      mark.setAttribute("aria-label", LABELS[m.status] || m.status);
      li.appendChild(mark);
      li.appendChild(el("span", "titre", m.label));
      if (m.status !== "ok") li.appendChild(el("div", "detail", m.detail));
      marks.appendChild(li);
    }
    summary.replaceChildren(el("p", report.all_green ? "alerte succes" : "alerte erreur",
      report.all_green
        ? "Toutes les coches sont vertes : vous pouvez enregistrer."
        : "Au moins une coche est rouge : corrigez ce qui est indiqué, puis testez à nouveau."));
    summary.dataset.allGreen = String(report.all_green);
  }

  function showError(error) {
    const box = el("div", "alerte erreur");
    box.setAttribute("role", "alert");
    box.dataset.code = error.code;
    box.appendChild(el("p", null, error.message));
    if (error.details && error.details.remedy) box.appendChild(el("p", "remede", error.details.remedy));
    summary.replaceChildren(box);
    summary.dataset.allGreen = "false";
  }

  async function runTest() {
    button.disabled = true;
    panel.hidden = false;
    steps.replaceChildren();
    marks.replaceChildren();
    summary.replaceChildren(el("p", "en-cours", "Test en cours…"));
    delete summary.dataset.allGreen;
    try {
      const url = "/api/v1/users/" + encodeURIComponent(form.dataset.login) +
        "/connection-test/stream";
      const answer = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(values()),
        credentials: "same-origin",
      });
      if (!answer.ok) {
        const body = await answer.json().catch(() => null);
        showError(body && body.error ? body.error
          : { code: "http", message: "Le test n'a pas pu être lancé (" + answer.status + ")." });
        return;
      }
      const reader = answer.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 1);
          if (!line.trim()) continue;
          const item = JSON.parse(line);
          if (item.type === "step") steps.appendChild(stepItem(item));
          else if (item.type === "report") showReport(item);
          else if (item.type === "error") showError(item.error);
        }
      }
    } catch (err) {
      showError({ code: "network", message: "Le serveur dsnlink ne répond pas : " + err });
    } finally {
      button.disabled = false;
    }
  }

  if (button) button.addEventListener("click", runTest);
})();
