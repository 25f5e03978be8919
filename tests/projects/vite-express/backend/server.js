const express = require('express');
const healthRoutes = require('./routes/health');
const taskRoutes = require('./routes/tasks');

const app = express();
app.use(express.json());

app.use('/api', healthRoutes);
app.use('/api/tasks', taskRoutes);

const PORT = process.env.PORT || 5000;
app.listen(PORT, () => {
  console.log(`Taskboard API listening on port ${PORT}`);
});
