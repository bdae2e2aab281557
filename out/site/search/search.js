/* The static site's search: ranks the things in index.js (window.YSV_SEARCH_INDEX) as the server does (see
   serve/search.py): every word of the query must match, as a whole word, a word's beginning or its expansion in the
   synonyms; then the label's tier, the label's length, FTS5's bm25 (same formula, same column weights), the label
   and the IRI. Results are built with createElement and textContent, never from HTML strings. */
(function () {
  "use strict";
  var index = window.YSV_SEARCH_INDEX;
  if (!index) { return; }
  var K1 = 1.2, B = 0.75;
  var field = {};
  index.fields.forEach(function (name, i) { field[name] = i; });
  var synonyms = new Map(Object.keys(index.synonyms).map(function (k) { return [k, index.synonyms[k]]; }));

  function words(text) {
    var bare = text.normalize("NFD").replace(/\p{M}/gu, "").toLowerCase();
    return bare.match(/[\p{L}\p{N}]+/gu) || [];
  }

  var docs = index.documents.map(function (row) {
    var columns = index.columns.map(function (name) { return words(row[field[name]]); });
    var size = columns.reduce(function (n, c) { return n + c.length; }, 0);
    return { row: row, columns: columns, size: size };
  });
  var averageSize = docs.reduce(function (n, d) { return n + d.size; }, 0) / Math.max(docs.length, 1);

  function expansion(word) {
    if (synonyms.has(word)) { return synonyms.get(word); }
    var singular = word.slice(0, -1);
    return word.endsWith("s") && synonyms.has(singular) ? synonyms.get(singular) : null;
  }

  /* the query: per word its phrases (FTS5's "w" OR "w"* OR "expansion"*), and its phrasings for the label tier */
  function parse(text) {
    var found = words(text).slice(0, index.maxWords);
    var clauses = found.map(function (word) {
      var phrases = [{ words: [word], prefix: false }, { words: [word], prefix: true }];
      var expanded = expansion(word);
      if (expanded) { phrases.push({ words: expanded.split(" "), prefix: true }); }
      return phrases;
    });
    var phrasings = [found];
    clauses.forEach(function (phrases, position) {
      if (phrases.length > 2) {
        phrasings.push(found.slice(0, position).concat(phrases[2].words, found.slice(position + 1)));
      }
    });
    var size = found.length;
    synonyms.forEach(function (term) {
      var terms = term.split(" ");
      if (size >= 2 && size < terms.length && terms.slice(0, size - 1).join(" ") === found.slice(0, -1).join(" ") &&
          terms[size - 1].startsWith(found[size - 1])) {
        phrasings.push(terms);
      }
    });
    return { words: found, clauses: clauses, phrasings: phrasings };
  }

  function count(tokens, phrase) {
    var n = 0, k = phrase.words.length;
    for (var i = 0; i + k <= tokens.length; i++) {
      var ok = true;
      for (var j = 0; j < k && ok; j++) {
        var token = tokens[i + j], word = phrase.words[j];
        ok = j === k - 1 && phrase.prefix ? token.startsWith(word) : token === word;
      }
      if (ok) { n++; }
    }
    return n;
  }

  function whole(token, word) { return token === word || token === word + "s" || token === word + "es"; }

  function labelTier(label, phrasings) {
    var variants = [words(label)];
    var bare = label.replace(/\([^()]*\)/g, " ");
    if (bare !== label) { variants.push(words(bare)); }
    var best = 6;
    variants.forEach(function (tokens) {
      phrasings.forEach(function (phrase) {
        var size = phrase.length;
        for (var start = 0; start + size <= tokens.length; start++) {
          var ok = true;
          for (var j = 0; j < size - 1 && ok; j++) { ok = whole(tokens[start + j], phrase[j]); }
          if (!ok) { continue; }
          var last = tokens[start + size - 1], tier;
          if (whole(last, phrase[size - 1])) {
            tier = start === 0 && size === tokens.length ? 0 : start === 0 ? 1 : 2;
          } else if (last.startsWith(phrase[size - 1])) {
            tier = start === 0 && size === tokens.length ? 3 : start === 0 ? 4 : 5;
          } else {
            continue;
          }
          best = Math.min(best, tier);
        }
      });
    });
    return best;
  }

  function search(text) {
    var query = parse(text);
    if (!query.words.length) { return { query: query, ranked: [] }; }
    var phrases = [].concat.apply([], query.clauses);
    var counts = docs.map(function (doc) {
      return phrases.map(function (phrase) {
        return doc.columns.map(function (tokens) { return count(tokens, phrase); });
      });
    });
    var idf = phrases.map(function (phrase, p) {
      var hits = counts.filter(function (c) { return c[p].some(function (n) { return n > 0; }); }).length;
      var value = Math.log((docs.length - hits + 0.5) / (hits + 0.5));
      return value <= 0 ? 1e-6 : value;
    });
    var ranked = [];
    docs.forEach(function (doc, d) {
      var offset = 0;
      var matches = query.clauses.every(function (clause) {
        var any = false;
        for (var p = offset; p < offset + clause.length; p++) { any = any || counts[d][p].some(function (n) { return n > 0; }); }
        offset += clause.length;
        return any;
      });
      if (!matches) { return; }
      var score = 0;
      phrases.forEach(function (phrase, p) {
        var frequency = counts[d][p].reduce(function (n, c, column) { return n + c * index.weights[column]; }, 0);
        score += idf[p] * ((frequency * (K1 + 1)) / (frequency + K1 * (1 - B + B * doc.size / averageSize)));
      });
      var label = doc.row[field.label];
      ranked.push({ doc: doc, key: [labelTier(label, query.phrasings), words(label).length,
                                     Math.round(-score * 1e9) / 1e9, label.toLowerCase(), doc.row[field.iri]] });
    });
    ranked.sort(function (a, b) {
      for (var i = 0; i < a.key.length; i++) {
        if (a.key[i] < b.key[i]) { return -1; }
        if (a.key[i] > b.key[i]) { return 1; }
      }
      return 0;
    });
    return { query: query, ranked: ranked };
  }

  /* a snippet: some 16 words of the text (else the other names) around the first that matches, matches marked */
  function snippet(doc, query) {
    var wanted = [];
    query.clauses.forEach(function (clause) {
      clause.forEach(function (phrase) { wanted = wanted.concat(phrase.words); });
    });
    function marked(piece) {
      return words(piece).some(function (token) {
        return wanted.some(function (word) { return token.startsWith(word); });
      });
    }
    var choices = [doc.row[field.text], doc.row[field.names]];
    var pieces = null, first = -1;
    for (var c = 0; c < choices.length && first < 0; c++) {
      var split = choices[c].split(/\s+/).filter(Boolean);
      var at = split.findIndex(marked);
      if (at >= 0) { pieces = split; first = at; }
    }
    if (!pieces) {
      pieces = (choices[0] || choices[1]).split(/\s+/).filter(Boolean);
      first = 0;
    }
    var start = Math.max(0, first - 3), end = Math.min(pieces.length, start + 16);
    return { pieces: pieces.slice(start, end), marked: marked, before: start > 0, after: end < pieces.length };
  }

  function safeHref(href) {
    return /^[a-z][a-z0-9+.-]*:/i.test(href) && !/^https?:/i.test(href) ? null : href;
  }

  function summary(query, total, shown) {
    if (!query.words.length) { return "There are no words to search for: letters or digits, please."; }
    if (!total) { return "Nothing matches."; }
    return total + " match" + (total !== 1 ? "es" : "") + (shown < total ? "; the first " + shown + " are shown." : ".");
  }

  function show(text) {
    var list = document.getElementById("search-results");
    var status = document.getElementById("search-status");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    if (text.length > index.maxQueryChars) {
      status.textContent = "A search is limited to " + index.maxQueryChars + " characters";
      return;
    }
    if (!text.trim()) { status.textContent = ""; return; }
    var found = search(text), shown = found.ranked.slice(0, index.maxResults);
    status.textContent = summary(found.query, found.ranked.length, shown.length);
    shown.forEach(function (result) {
      var row = result.doc.row, item = document.createElement("li"), href = safeHref(row[field.href]);
      var name = document.createElement(href ? "a" : "span");
      if (href) { name.setAttribute("href", href); }
      name.textContent = row[field.label];
      var kind = document.createElement("span");
      kind.className = "note";
      kind.textContent = row[field.kind];
      item.appendChild(name);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(kind);
      var part = snippet(result.doc, found.query);
      if (part.pieces.length) {
        var box = document.createElement("span");
        box.className = "snippet";
        if (part.before) { box.appendChild(document.createTextNode("…")); }
        part.pieces.forEach(function (piece, i) {
          if (i > 0) { box.appendChild(document.createTextNode(" ")); }
          if (part.marked(piece)) {
            var mark = document.createElement("mark");
            mark.textContent = piece;
            box.appendChild(mark);
          } else {
            box.appendChild(document.createTextNode(piece));
          }
        });
        if (part.after) { box.appendChild(document.createTextNode("…")); }
        item.appendChild(document.createElement("br"));
        item.appendChild(box);
      }
      list.appendChild(item);
    });
  }

  var text = new URLSearchParams(window.location.search).get("q") || "";
  var input = document.getElementById("search-query");
  if (input) { input.value = text; }
  show(text);
}());
