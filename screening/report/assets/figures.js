// The Plotly figures, drawn into the <div> of each id once plotly.js is parsed;
// <body data-ready="ms"> records when every one is drawn (the tests and the benchmark wait for
// it), counted from the start of navigation.
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("figures").textContent);
  var config = {responsive: true, displaylogo: false};
  Promise.all(Object.keys(figures).map(function (id) {
    return Plotly.newPlot(id, figures[id].data, figures[id].layout, config);
  })).then(function () {
    document.body.setAttribute("data-ready", String(Math.round(performance.now())));
  });
}());
