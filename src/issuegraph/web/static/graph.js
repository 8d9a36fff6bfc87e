// Draws the dependency graph of an issue and the graph of a project with Cytoscape.js and
// its dagre layout. The page's data comes from the same services as the graph API.
"use strict";
(function () {
  var container = document.getElementById("graph");
  if (!container || typeof cytoscape === "undefined") { return; }
  if (typeof cytoscapeDagre !== "undefined") { cytoscape.use(cytoscapeDagre); }
  var started = performance.now();

  var style = [
    { selector: "node", style: {
      "label": "data(label)", "font-size": 11, "text-valign": "bottom", "text-margin-y": 4,
      "background-color": "#1f75cb", "width": 22, "height": 22, "color": "#222" } },
    { selector: "node[state = 'closed']", style: { "background-color": "#7b58cf" } },
    { selector: "node[state = 'opened']", style: { "background-color": "#108548" } },
    { selector: "node[kind = 'self']", style: { "border-width": 4, "border-color": "#e9a100", "width": 30, "height": 30, "font-weight": "bold" } },
    { selector: "node[kind = 'hidden']", style: { "background-color": "#bbbbbb", "shape": "round-rectangle", "label": "hidden", "color": "#555" } },
    { selector: "node.ready", style: { "border-width": 3, "border-color": "#00b4d8" } },
    { selector: "node.critical", style: { "background-color": "#dd2b0e" } },
    { selector: "edge", style: { "width": 1.5, "line-color": "#888", "target-arrow-color": "#888", "target-arrow-shape": "triangle", "curve-style": "bezier" } },
    { selector: "edge[type = 'parent_of']", style: { "line-style": "dashed", "target-arrow-shape": "vee" } },
    { selector: "edge.critical", style: { "line-color": "#dd2b0e", "target-arrow-color": "#dd2b0e", "width": 3 } }
  ];

  function fetchJson(url) {
    return fetch(url, { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    });
  }

  // dagre's crossing minimisation takes minutes on 2,000 nodes and 5,000 edges; above
  // LAYERED_ABOVE nodes the same kind of drawing is computed here in linear time: longest-path
  // ranks left to right (as dagre ranks), then two barycenter sweeps to order each rank.
  var LAYERED_ABOVE = 300;

  function layered(elements) {
    var ids = elements.nodes.map(function (n) { return n.data.id; });
    var succ = {}, pred = {}, indegree = {}, rank = {};
    ids.forEach(function (id) { succ[id] = []; pred[id] = []; indegree[id] = 0; rank[id] = 0; });
    elements.edges.forEach(function (e) {
      var s = e.data.source, t = e.data.target;
      if (succ[s] && succ[t]) { succ[s].push(t); pred[t].push(s); indegree[t] += 1; }
    });
    var queue = ids.filter(function (id) { return indegree[id] === 0; }), head = 0;
    while (head < queue.length) {
      var u = queue[head++];
      succ[u].forEach(function (v) {
        rank[v] = Math.max(rank[v], rank[u] + 1);
        indegree[v] -= 1;
        if (indegree[v] === 0) { queue.push(v); }
      });
    }
    var ranks = [];
    ids.forEach(function (id) { (ranks[rank[id]] = ranks[rank[id]] || []).push(id); });
    var index = {};
    ranks.forEach(function (r) { if (r) { r.forEach(function (id, i) { index[id] = i; }); } });
    function sweep(neighbours) {
      ranks.forEach(function (r) {
        if (!r) { return; }
        var weight = {};
        r.forEach(function (id) {
          var ns = neighbours[id];
          weight[id] = ns.length ? ns.reduce(function (a, n) { return a + index[n]; }, 0) / ns.length : index[id];
        });
        r.sort(function (a, b) { return weight[a] - weight[b]; });
        r.forEach(function (id, i) { index[id] = i; });
      });
    }
    sweep(pred);
    ranks.reverse(); sweep(succ); ranks.reverse();
    var positions = {};
    ranks.forEach(function (r, x) {
      if (!r) { return; }
      r.forEach(function (id, i) { positions[id] = { x: x * 160, y: (i - r.length / 2) * 40 }; });
    });
    return positions;
  }

  function mark(name) {
    container.setAttribute("data-" + name + "-ms", String(Math.round(performance.now() - started)));
  }

  function draw(elements, big) {
    mark("data");
    var positions = elements.nodes.length > LAYERED_ABOVE ? layered(elements) : null;
    if (positions) {  // placed as they are created: no second pass over the nodes
      elements.nodes.forEach(function (n) { n.position = positions[n.data.id]; });
    }
    mark("positions");
    // Rules for big graphs go in before the elements: restyling 7,000 elements afterwards
    // costs as much as creating them.
    var sheet = big ? style.concat([
      { selector: "edge", style: { "curve-style": "straight" } },
      { selector: "node", style: { "min-zoomed-font-size": 9 } }
    ]) : style;
    var cy = cytoscape({
      container: container, elements: elements, style: sheet,
      wheelSensitivity: 0.3, minZoom: 0.02, maxZoom: 2.5,
      textureOnViewport: big, hideEdgesOnViewport: big, pixelRatio: big ? 1 : "auto"
    });
    mark("init");
    var layout = positions
      ? cy.layout({ name: "preset", animate: false })
      : cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 18, rankSep: 60, animate: false });
    layout.on("layoutstop", function () {
      cy.fit(undefined, 20);
      mark("draw");
      container.setAttribute("data-ready", "true");
    });
    layout.run();
    var tip = document.getElementById("graph-tip");
    cy.on("tap", "node", function (event) {
      var url = event.target.data("url");
      if (url) { window.location.href = url; }
    });
    cy.on("mouseover", "node", function (event) {
      var node = event.target;
      if (!tip) { return; }
      tip.textContent = (node.data("kind") === "hidden" ? "" : node.data("label") + " · ") + node.data("title");
      var pos = node.renderedPosition();
      var box = container.getBoundingClientRect();
      tip.style.left = (box.left + window.scrollX + pos.x + 14) + "px";
      tip.style.top = (box.top + window.scrollY + pos.y + 14) + "px";
      tip.hidden = false;
      container.title = node.data("title");
    });
    cy.on("mouseout", "node", function () { if (tip) { tip.hidden = true; } container.title = ""; });
    window.igGraph = cy;
    return cy;
  }

  function listNodes(elements) {
    var list = document.getElementById("graph-list");
    if (!list) { return; }
    elements.nodes.forEach(function (n) {
      var li = document.createElement("li");
      if (n.data.url) {
        var a = document.createElement("a");
        a.href = n.data.url;
        a.textContent = n.data.label;
        li.appendChild(a);
        li.appendChild(document.createTextNode(" " + n.data.title + " (" + n.data.state + ")"));
      } else {
        li.textContent = "hidden issue";
      }
      list.appendChild(li);
    });
  }

  function status(text) {
    var el = document.getElementById("graph-status");
    if (el) { el.textContent = text; }
  }

  if (container.getAttribute("data-kind") === "issue") {
    fetchJson(container.getAttribute("data-src")).then(function (data) {
      listNodes(data);
      draw(data, false);
    }).catch(function (err) { container.textContent = "The graph could not be loaded: " + err.message; });
    return;
  }

  Promise.all([fetchJson(container.getAttribute("data-src")), fetchJson(container.getAttribute("data-marks"))])
    .then(function (both) {
      var data = both[0], marks = both[1];
      var ready = new Set(marks.ready), critical = new Set(marks.critical_path);
      var onPath = new Set();
      for (var i = 0; i + 1 < marks.critical_path.length; i++) {
        onPath.add(marks.critical_path[i] + "->" + marks.critical_path[i + 1]);
      }
      var nodes = data.nodes.map(function (n) {
        var classes = [];
        if (ready.has(n.id)) { classes.push("ready"); }
        if (critical.has(n.id)) { classes.push("critical"); }
        return { data: { id: String(n.id), label: "#" + n.iid, title: n.title, state: n.state,
                         url: "/-/projects/" + n.project_id + "/issues/" + n.iid }, classes: classes.join(" ") };
      });
      var edges = data.edges.filter(function (e) { return e.type === "blocks" || e.type === "parent_of"; })
        .map(function (e) {
          var key = e.source + "->" + e.target;
          return { data: { id: "e" + e.id, source: String(e.source), target: String(e.target), type: e.type },
                   classes: e.type === "blocks" && onPath.has(key) ? "critical" : "" };
        });
      status(nodes.length + " issues, " + edges.length + " links; critical path of " +
             marks.critical_path.length + " issues; " + marks.ready.length + " ready.");
      draw({ nodes: nodes, edges: edges }, nodes.length > 300);
    }).catch(function (err) { status("The graph could not be loaded: " + err.message); });
})();
