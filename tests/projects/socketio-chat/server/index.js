const express = require('express');
const http = require('http');
const { Server } = require('socket.io');

const app = express();
const server = http.createServer(app);
const io = new Server(server);

const rooms = ['general', 'random'];
const history = [];

app.get('/api/rooms', (req, res) => res.json(rooms));
app.get('/api/messages', (req, res) => res.json(history.slice(-50)));

io.on('connection', (socket) => {
  socket.on('chat message', (text) => {
    history.push(text);
    io.emit('chat message', text);
  });
});

const PORT = process.env.PORT || 3001;
server.listen(PORT, () => console.log(`chat server on ${PORT}`));
