package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
)

type link struct {
	Code string `json:"code"`
	URL  string `json:"url"`
}

var links = []link{{"gh", "https://github.com"}, {"docs", "https://go.dev/doc"}}

func writeJSON(w http.ResponseWriter, value any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(value)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/api/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/api/links", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, links)
	})

	port := os.Getenv("PORT")
	if port == "" {
		port = "8081"
	}
	log.Printf("listening on :%s", port)
	log.Fatal(http.ListenAndServe(":"+port, mux))
}
