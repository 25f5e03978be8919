const express = require('express');

const router = express.Router();
const tasks = [
  { id: 1, title: 'Write the proposal', done: true },
  { id: 2, title: 'Build the board', done: false },
];

router.get('/', (req, res) => res.json(tasks));

router.get('/:id', (req, res) => {
  const task = tasks.find((t) => t.id === Number(req.params.id));
  if (!task) return res.status(404).json({ error: 'not found' });
  res.json(task);
});

router.post('/', (req, res) => {
  const task = { id: tasks.length + 1, title: String(req.body.title || ''), done: false };
  tasks.push(task);
  res.status(201).json(task);
});

module.exports = router;
