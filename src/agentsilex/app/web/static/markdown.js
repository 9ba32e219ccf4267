// A small Markdown renderer that builds DOM nodes and never parses HTML: model output is text, always.
// Supports paragraphs, headings, lists, block quotes, fenced code, `code`, **bold**, *italic* and
// [links](https://...) (http, https and mailto only); snake_case stays as it is. Anything else shows as the characters it is.
"use strict";

const Markdown = (() => {
  function el(tag, children) {
    const node = document.createElement(tag);
    for (const child of children || []) node.append(child);
    return node;
  }

  const INLINE = /(`[^`\n]+`)|(\*\*[^*\n]+\*\*)|(\*[^*\s][^*\n]*\*|(?<!\w)_[^_\s][^_\n]*_(?!\w))|(\[[^\]\n]+\]\([^)\s]+\))/;

  function inline(text) {
    const out = [];
    while (text) {
      const found = INLINE.exec(text);
      if (!found) { out.push(document.createTextNode(text)); break; }
      if (found.index) out.push(document.createTextNode(text.slice(0, found.index)));
      const token = found[0];
      if (found[1]) out.push(el("code", [token.slice(1, -1)]));
      else if (found[2]) out.push(el("strong", inline(token.slice(2, -2))));
      else if (found[3]) out.push(el("em", inline(token.slice(1, -1))));
      else out.push(link(token));
      text = text.slice(found.index + token.length);
    }
    return out;
  }

  function link(token) {
    const split = token.indexOf("](");
    const label = token.slice(1, split), href = token.slice(split + 2, -1);
    if (!/^(https?:|mailto:)/i.test(href)) return document.createTextNode(token);
    const a = el("a", inline(label));
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer nofollow";
    return a;
  }

  function render(source) {
    const root = document.createDocumentFragment();
    const lines = String(source).replace(/\r\n?/g, "\n").split("\n");
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      if (/^```/.test(line)) {
        const code = [];
        for (i++; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
        i++;
        root.append(el("pre", [el("code", [code.join("\n")])]));
      } else if (/^#{1,6}\s/.test(line)) {
        const level = line.match(/^#+/)[0].length;
        root.append(el("h" + Math.min(level + 2, 6), inline(line.replace(/^#+\s*/, ""))));
        i++;
      } else if (/^\s*([-*+]|\d+[.)])\s+/.test(line)) {
        const ordered = /^\s*\d/.test(line);
        const list = el(ordered ? "ol" : "ul");
        for (; i < lines.length && /^\s*([-*+]|\d+[.)])\s+/.test(lines[i]); i++) {
          list.append(el("li", inline(lines[i].replace(/^\s*([-*+]|\d+[.)])\s+/, ""))));
        }
        root.append(list);
      } else if (/^>\s?/.test(line)) {
        const quoted = [];
        for (; i < lines.length && /^>\s?/.test(lines[i]); i++) quoted.push(lines[i].replace(/^>\s?/, ""));
        root.append(el("blockquote", [render(quoted.join("\n"))]));
      } else if (!line.trim()) {
        i++;
      } else {
        const para = [];
        for (; i < lines.length && lines[i].trim() && !/^(```|#{1,6}\s|>|\s*([-*+]|\d+[.)])\s+)/.test(lines[i]); i++) {
          para.push(lines[i]);
        }
        const p = el("p");
        para.forEach((text, n) => { if (n) p.append(el("br")); p.append(...inline(text)); });
        root.append(p);
      }
    }
    return root;
  }

  return { render };
})();
