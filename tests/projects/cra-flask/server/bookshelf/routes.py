from flask import Blueprint, abort, jsonify, request

api = Blueprint("api", __name__)

BOOKS = [
    {"id": 1, "title": "On the Road", "author": "Jack Kerouac"},
    {"id": 2, "title": "Harry Potter and the Philosopher's Stone", "author": "J. K. Rowling"},
]


@api.route("/ping")
def ping():
    return jsonify(status="pong")


@api.route("/books", methods=["GET", "POST"])
def books():
    if request.method == "POST":
        book = {"id": len(BOOKS) + 1, **request.get_json()}
        BOOKS.append(book)
        return jsonify(book), 201
    return jsonify(BOOKS)


@api.route("/books/<int:book_id>")
def book(book_id):
    for item in BOOKS:
        if item["id"] == book_id:
            return jsonify(item)
    abort(404)
