from flask import Flask, jsonify, request

app = Flask(__name__)

BOOKS = [
    {"id": "1", "title": "The Pragmatic Programmer", "read": True},
    {"id": "2", "title": "Clean Architecture", "read": False},
]


@app.route("/ping", methods=["GET"])
def ping_pong():
    return jsonify("pong!")


@app.route("/books", methods=["GET", "POST"])
def all_books():
    if request.method == "POST":
        BOOKS.append(request.get_json())
        return jsonify({"status": "success"}), 201
    return jsonify(BOOKS)


@app.route("/books/<book_id>", methods=["GET"])
def single_book(book_id):
    for book in BOOKS:
        if book["id"] == book_id:
            return jsonify(book)
    return jsonify({"error": "not found"}), 404


if __name__ == "__main__":
    app.run(debug=True, port=5001)
