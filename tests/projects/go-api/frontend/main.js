fetch('/api/links').then(function (r) { return r.json(); }).then(function (links) {
  document.getElementById('links').innerHTML = links.map(function (l) {
    return '<li>' + l.code + ' &rarr; ' + l.url + '</li>';
  }).join('');
});
