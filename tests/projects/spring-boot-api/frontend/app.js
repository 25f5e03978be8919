fetch('/api/items').then(function (r) { return r.json(); }).then(function (items) {
  document.getElementById('items').innerHTML = items.map(function (i) { return '<li>' + i + '</li>'; }).join('');
});
