// Draws the charts of an llmeter report with Apache ECharts. The data model
// (window.llmeterData) is report.Report as JSON; each model series i is the
// ECharts series with id "s<i>" (box plots add "s<i>-outliers").
(function () {
  'use strict';
  var data = window.llmeterData;
  var charts = {};
  window.llmeterCharts = charts;
  var palette = ['#5470c6', '#91cc75', '#fac858', '#73c0de', '#3ba272', '#fc8452', '#9a60b4', '#ea7ccc'];
  var errorColor = '#d62728';
  var oryel = ['#ecda9a', '#efc47e', '#f3ad6a', '#f7945d', '#f97b57', '#f66356', '#ee4d5a'];

  function num(v) {
    if (typeof v !== 'number') return String(v);
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
    return String(Math.round(v * 1e4) / 1e4);
  }
  function valueAxis(title, log, extra) {
    var ax = {type: log ? 'log' : 'value', name: title, nameLocation: 'middle', nameGap: 32, scale: !log,
      axisLabel: {formatter: num}, splitLine: {show: true}};
    return Object.assign(ax, extra || {});
  }
  function catAxis(title, cats, extra) {
    return Object.assign({type: 'category', data: cats, name: title, nameLocation: 'middle', nameGap: 32}, extra || {});
  }
  function markLines(lines) {
    if (!lines || !lines.length) return undefined;
    return {
      symbol: 'none', silent: false,
      lineStyle: {color: errorColor, type: 'dashed', width: 2},
      label: {formatter: '{b}', position: 'insideEndTop', color: errorColor},
      data: lines.map(function (l) {
        var d = {name: l.label};
        d[l.axis === 'x' ? 'xAxis' : 'yAxis'] = l.value;
        return d;
      })
    };
  }
  // fitLines widens the axes so that the reference lines are in view
  // (ECharts does not extend an axis for a markLine).
  function fitLines(c, xAxis, yAxis) {
    var ext = {x: [Infinity, -Infinity], y: [Infinity, -Infinity]};
    c.series.forEach(function (s) {
      if (s.role) return;
      (s.points || []).forEach(function (p) {
        ext.x = [Math.min(ext.x[0], p.x), Math.max(ext.x[1], p.x)];
        ext.y = [Math.min(ext.y[0], p.y), Math.max(ext.y[1], p.y)];
      });
      (s.boxes || []).forEach(function (b) {
        var lo = Math.min.apply(null, [b.min].concat(b.outliers || [])), hi = Math.max.apply(null, [b.max].concat(b.outliers || []));
        ext.y = [Math.min(ext.y[0], lo), Math.max(ext.y[1], hi)];
      });
    });
    (c.lines || []).forEach(function (l) {
      var ax = l.axis === 'x' ? xAxis : yAxis, e = ext[l.axis === 'x' ? 'x' : 'y'];
      var log = ax.type === 'log';
      if (l.value > e[1]) ax.max = log ? l.value * 1.5 : l.value + 0.05 * Math.abs(l.value - Math.min(e[0], 0));
      if (l.value < e[0]) ax.min = log ? l.value / 1.5 : l.value;
    });
  }
  function pointData(s) {
    return (s.points || []).map(function (p) {
      var d = {value: [p.x, p.y]};
      if (p.label) d.name = p.label;
      return d;
    });
  }
  // binSeries draws histogram bins as rectangles on value axes; horizontal
  // bins (a right-hand marginal histogram) have the fraction on x.
  function binSeries(s, i, horizontal, axes) {
    var d = (s.bins || []).map(function (b) {
      return horizontal ? [b.fraction, b.lo, b.hi, b.count] : [b.lo, b.hi, b.fraction, b.count];
    });
    return Object.assign({
      id: 's' + i, name: s.name, type: 'custom', data: d,
      encode: horizontal ? {x: 0, y: [1, 2]} : {x: [0, 1], y: 2},
      renderItem: function (params, api) {
        var a, b;
        if (horizontal) {
          a = api.coord([0, api.value(1)]); b = api.coord([api.value(0), api.value(2)]);
          return {type: 'rect', shape: {x: a[0], y: b[1], width: b[0] - a[0], height: a[1] - b[1]},
            style: {fill: api.visual('color'), stroke: '#fff', lineWidth: 0.5}};
        }
        a = api.coord([api.value(0), 0]); b = api.coord([api.value(1), api.value(2)]);
        return {type: 'rect', shape: {x: a[0], y: b[1], width: b[0] - a[0], height: a[1] - b[1]},
          style: {fill: api.visual('color'), stroke: '#fff', lineWidth: 0.5}};
      },
      tooltip: {formatter: function (p) {
        var v = p.value;
        return horizontal ? s.name + '<br>[' + num(v[1]) + ', ' + num(v[2]) + '): ' + v[3] + ' (' + num(v[0]) + ')'
          : s.name + '<br>[' + num(v[0]) + ', ' + num(v[1]) + '): ' + v[3] + ' (' + num(v[2]) + ')';
      }}
    }, axes || {});
  }
  var toolbox = {feature: {dataZoom: {}, restore: {}, saveAsImage: {}}, right: 10};

  function lineOrScatter(c) {
    var main = [], hx = null, hy = null;
    c.series.forEach(function (s, i) {
      if (s.role === 'x_hist') hx = [s, i];
      else if (s.role === 'y_hist') hy = [s, i];
      else main.push([s, i]);
    });
    var marg = hx || hy;
    var grid = marg ? [{left: 70, right: '24%', top: '30%', bottom: 60}, {left: 70, right: '24%', top: 70, height: '18%'},
      {right: 30, width: '16%', top: '30%', bottom: 60}] : [{left: 70, right: 40, top: 70, bottom: 60}];
    var xAxis = [valueAxis(c.x_title, c.x_log)], yAxis = [valueAxis(c.y_title, c.y_log, {nameGap: 50})];
    var series = [];
    main.forEach(function (m, k) {
      var s = m[0], i = m[1];
      var ser = {id: 's' + i, name: s.name, type: c.kind === 'line' ? 'line' : 'scatter', data: pointData(s),
        symbolSize: c.kind === 'line' ? 8 : 6};
      if (c.kind === 'line') ser.lineStyle = {type: 'dotted', width: 2};
      if (s.error) { ser.symbol = 'diamond'; ser.symbolSize = 9; ser.itemStyle = {color: errorColor}; }
      if (c.kind === 'line' && s.points && s.points.some(function (p) { return p.label; })) {
        ser.label = {show: true, formatter: '{b}', position: 'top', fontSize: 10};
      }
      if (k === 0) ser.markLine = markLines(c.lines);
      series.push(ser);
    });
    if (marg) {
      // LLMeter's scatter_histogram_2d: axes [0, 1.1 max], shared with the
      // marginal histograms.
      var mx = 0, my = 0;
      main.forEach(function (m) { (m[0].points || []).forEach(function (p) { mx = Math.max(mx, p.x); my = Math.max(my, p.y); }); });
      var xr = {min: 0, max: 1.1 * mx || 1, scale: false}, yr = {min: 0, max: 1.1 * my || 1, scale: false};
      // The axes' odd maxima (1.1 max) are not labelled, and the marginal
      // histograms drop their zero labels, so that no two labels collide
      // where the grids meet.
      var noMax = {formatter: num, showMaxLabel: false}, noMin = {formatter: num, showMinLabel: false};
      Object.assign(xAxis[0], xr, {axisLabel: noMax});
      Object.assign(yAxis[0], yr, {axisLabel: noMax});
      xAxis.push(valueAxis('', false, Object.assign({gridIndex: 1, axisLabel: {show: false}}, xr)));
      yAxis.push(valueAxis('Probability', false, {gridIndex: 1, nameGap: 50, scale: false, splitNumber: 3, axisLabel: noMin}));
      xAxis.push(valueAxis('Probability', false, {gridIndex: 2, scale: false, splitNumber: 2, axisLabel: noMin}));
      yAxis.push(valueAxis('', false, Object.assign({gridIndex: 2, axisLabel: {show: false}}, yr)));
      if (hx) series.push(binSeries(hx[0], hx[1], false, {xAxisIndex: 1, yAxisIndex: 1}));
      if (hy) series.push(binSeries(hy[0], hy[1], true, {xAxisIndex: 2, yAxisIndex: 2}));
    }
    fitLines(c, xAxis[0], yAxis[0]);
    var zoom = [{type: 'inside', xAxisIndex: 0, filterMode: 'none'}, {type: 'inside', yAxisIndex: 0, filterMode: 'none'}];
    return {grid: grid, xAxis: xAxis, yAxis: yAxis, series: series, dataZoom: zoom,
      tooltip: {trigger: 'item', formatter: function (p) {
        if (!Array.isArray(p.value)) return '';
        return p.seriesName + (p.name ? ' — ' + p.name : '') + '<br>' + c.x_title + ': ' + num(p.value[0]) + '<br>' + c.y_title + ': ' + num(p.value[1]);
      }}};
  }

  function box(c) {
    var series = [];
    c.series.forEach(function (s, i) {
      series.push({id: 's' + i, name: s.name, type: 'boxplot',
        data: s.boxes.map(function (b) { return [b.min, b.q1, b.median, b.q3, b.max]; }),
        markLine: i === 0 ? markLines(c.lines) : undefined,
        tooltip: {formatter: function (p) {
          var b = s.boxes[p.dataIndex];
          return s.name + ' — ' + c.categories[p.dataIndex] + ' (n=' + b.n + ')<br>max ' + num(b.max) + '<br>q3 ' + num(b.q3) +
            '<br>median ' + num(b.median) + '<br>q1 ' + num(b.q1) + '<br>min ' + num(b.min);
        }}});
      var out = [];
      s.boxes.forEach(function (b, k) { (b.outliers || []).forEach(function (v) { out.push([k, v]); }); });
      series.push({id: 's' + i + '-outliers', name: s.name, type: 'scatter', data: out, symbolSize: 5});
    });
    var yAxis = valueAxis(c.y_title, c.y_log, {nameGap: 55});
    fitLines(c, {}, yAxis);
    return {grid: {left: 80, right: 40, top: 70, bottom: 60}, xAxis: catAxis(c.x_title, c.categories),
      yAxis: yAxis, series: series, tooltip: {trigger: 'item'},
      dataZoom: [{type: 'inside', yAxisIndex: 0, filterMode: 'none'}]};
  }

  function histogram(c) {
    return {grid: {left: 70, right: 40, top: 70, bottom: 60}, xAxis: valueAxis(c.x_title, false),
      yAxis: valueAxis(c.y_title, false, {scale: false, nameGap: 50}),
      series: c.series.map(function (s, i) { return binSeries(s, i, false); }),
      tooltip: {trigger: 'item'}, dataZoom: [{type: 'inside', xAxisIndex: 0, filterMode: 'none'}]};
  }

  function heatmap(c) {
    var s = c.series[0] || {cells: []};
    var vals = (s.cells || []).map(function (x) { return x.value; });
    var lo = vals.length ? Math.min.apply(null, vals) : 0, hi = vals.length ? Math.max.apply(null, vals) : 1;
    if (hi === lo) hi = lo + 1e-9;
    return {grid: {left: 90, right: 110, top: 70, bottom: 70},
      xAxis: catAxis(c.x_title, c.categories, {splitArea: {show: true}}),
      yAxis: catAxis(c.y_title, c.y_categories, {splitArea: {show: true}, nameGap: 60}),
      visualMap: {min: lo, max: hi, dimension: 2, calculable: true, orient: 'vertical', right: 10, top: 'middle', text: [c.value_title, ''],
        inRange: {color: oryel}, formatter: num},
      series: c.series.map(function (s, i) {
        return {id: 's' + i, name: s.name, type: 'heatmap',
          data: (s.cells || []).map(function (x) { return [x.x, x.y, x.value, x.count]; }),
          label: {show: true, fontSize: 11, lineHeight: 15, formatter: function (p) { return num(p.value[2]) + ' s\nn=' + p.value[3]; }},
          tooltip: {formatter: function (p) {
            return c.x_title + ': ' + c.categories[p.value[0]] + '<br>' + c.y_title + ': ' + c.y_categories[p.value[1]] +
              '<br>' + s.name + ': ' + num(p.value[2]) + ' s<br>requests: ' + p.value[3];
          }}};
      }),
      tooltip: {trigger: 'item'}};
  }

  data.charts.forEach(function (c) {
    var el = document.getElementById('chart-' + c.id);
    var inst = echarts.init(el, null, {renderer: 'canvas'});
    var opt;
    switch (c.kind) {
      case 'line': case 'scatter': opt = lineOrScatter(c); break;
      case 'box': opt = box(c); break;
      case 'histogram': opt = histogram(c); break;
      case 'heatmap': opt = heatmap(c); break;
      default: throw new Error('unknown chart kind ' + c.kind);
    }
    opt.animation = false;
    opt.color = palette;
    // Titles start at the left so that long ones stay clear of the toolbox.
    opt.title = {text: c.title, left: 12, textStyle: {fontSize: 15}};
    opt.toolbox = toolbox;
    if (c.kind !== 'heatmap') opt.legend = {top: 28, left: 12, type: 'scroll'};
    inst.setOption(opt);
    charts[c.id] = inst;
  });
  window.addEventListener('resize', function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });
  window.llmeterReady = true;
})();
