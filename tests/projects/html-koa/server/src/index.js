const Koa = require('koa');
const Router = require('@koa/router');
const quotes = require('./quotes');

const app = new Koa();
const router = new Router({ prefix: '/api' });

router.get('/ping', (ctx) => {
  ctx.body = { ok: true };
});

router.get('/quotes', (ctx) => {
  ctx.body = quotes;
});

router.get('/quotes/random', (ctx) => {
  ctx.body = quotes[Math.floor(Math.random() * quotes.length)];
});

app.use(router.routes()).use(router.allowedMethods());

const port = process.env.PORT || 4000;
app.listen(port, () => console.log(`quotes on :${port}`));
