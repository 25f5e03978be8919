const express = require('express');

const app = express();
app.use(express.json());

const dishes = [{ who: 'Ana', dish: 'Lasagna' }, { who: 'Ben', dish: 'Fruit salad' }];

app.get('/api/status', (req, res) => res.json({ up: true }));
app.get('/api/dishes', (req, res) => res.json(dishes));
app.post('/api/dishes', (req, res) => {
  dishes.push({ who: String(req.body.who), dish: String(req.body.dish) });
  res.status(201).json(dishes[dishes.length - 1]);
});

app.listen(process.env.PORT || 3000);
